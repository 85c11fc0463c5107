// ELF-64 structures the loader reads (System V gABI, "ELF-64 Object File
// Format" 1.5; x86-64 psABI §4-5 for the machine and the auxiliary vector).
#pragma once

#include "kernel/lib/Types.h"

namespace elf {

constexpr u8 MAGIC[4] = {0x7f, 'E', 'L', 'F'};
constexpr u8 CLASS_64 = 2;
constexpr u8 DATA_LSB = 1;
constexpr u8 VERSION_CURRENT = 1;
constexpr u16 TYPE_EXEC = 2;
constexpr u16 TYPE_DYN = 3;
constexpr u16 MACHINE_X86_64 = 62;

constexpr u32 PT_LOAD = 1;
constexpr u32 PT_DYNAMIC = 2;
constexpr u32 PT_INTERP = 3;
constexpr u32 PT_PHDR = 6;
constexpr u32 PT_TLS = 7;
constexpr u32 PT_GNU_STACK = 0x6474e551;

constexpr u32 PF_X = 1;
constexpr u32 PF_W = 2;
constexpr u32 PF_R = 4;

struct Header {
    u8 ident[16];
    u16 type;
    u16 machine;
    u32 version;
    u64 entry;
    u64 phoff;
    u64 shoff;
    u32 flags;
    u16 ehsize;
    u16 phentsize;
    u16 phnum;
    u16 shentsize;
    u16 shnum;
    u16 shstrndx;
};
static_assert(sizeof(Header) == 64);

struct ProgramHeader {
    u32 type;
    u32 flags;
    u64 offset;
    u64 vaddr;
    u64 paddr;
    u64 filesz;
    u64 memsz;
    u64 align;
};
static_assert(sizeof(ProgramHeader) == 56);

// Auxiliary vector types (include/uapi/linux/auxvec.h).
constexpr u64 AT_NULL = 0;
constexpr u64 AT_PHDR = 3;
constexpr u64 AT_PHENT = 4;
constexpr u64 AT_PHNUM = 5;
constexpr u64 AT_PAGESZ = 6;
constexpr u64 AT_BASE = 7;
constexpr u64 AT_FLAGS = 8;
constexpr u64 AT_ENTRY = 9;
constexpr u64 AT_UID = 11;
constexpr u64 AT_EUID = 12;
constexpr u64 AT_GID = 13;
constexpr u64 AT_EGID = 14;
constexpr u64 AT_PLATFORM = 15;
constexpr u64 AT_HWCAP = 16;
constexpr u64 AT_CLKTCK = 17;
constexpr u64 AT_SECURE = 23;
constexpr u64 AT_RANDOM = 25;
constexpr u64 AT_HWCAP2 = 26;
constexpr u64 AT_EXECFN = 31;
constexpr u64 AT_MINSIGSTKSZ = 51;

} // namespace elf
