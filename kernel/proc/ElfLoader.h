// The ELF loader: maps a static executable into a fresh address space.
//
// Accepted: ELF-64, little endian, x86-64, ET_EXEC (at its link addresses)
// and ET_DYN without PT_INTERP (static-pie, loaded at ELF_ET_DYN_BASE as
// Linux does with ASLR off). PT_LOAD segments become private anonymous VMAs
// with the segment's permissions (NX unless PF_X), filled from the file; the
// memory beyond p_filesz (bss) stays zero. PT_GNU_STACK decides whether the
// stack is executable; PT_TLS is checked (the C library sets TLS up itself
// from AT_PHDR). A PT_INTERP (dynamically linked) or a foreign binary is
// ENOEXEC with one log line saying which.
#pragma once

#include "fs/vfs/Vfs.h"
#include "kernel/lib/Result.h"

namespace mm {
class AddressSpace;
}

namespace proc {

struct LoadedImage {
    uptr entry = 0;       // with the load bias
    uptr phdr = 0;        // user address of the program headers (AT_PHDR)
    u16 phnum = 0;
    u16 phent = 0;
    uptr load_bias = 0;   // 0 for ET_EXEC
    uptr brk_start = 0;   // page after the highest segment
    bool executable_stack = false;
};

// Linux x86-64 ELF_ET_DYN_BASE without randomisation (2/3 of TASK_SIZE,
// page aligned): where a static-pie is placed.
constexpr uptr ELF_DYN_BASE = 0x555555554000;

// `header` is the first bytes of the file (at least sizeof(elf::Header)).
// ENOEXEC for anything but an ELF-64 x86-64 executable (nothing logged: the
// caller may try another format); is_elf() says if it is an ELF at all.
bool is_elf(const u8* header, usize size);

// Load `file` (the path only names it in log lines) into `space`.
Result<LoadedImage> load_elf(vfs::File& file, const char* path, mm::AddressSpace& space);

} // namespace proc
