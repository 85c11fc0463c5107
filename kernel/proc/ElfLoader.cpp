#include "kernel/proc/ElfLoader.h"

#include "fs/vfs/FileApi.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Elf.h"
#include "uapi/errno.h"
#include "uapi/mman.h"

namespace proc {
namespace {

// More program headers than this is not a program a static linker made.
constexpr u16 MAX_PROGRAM_HEADERS = 128;

struct Buffer {
    void* data;
    explicit Buffer(usize size) : data(kmalloc(size)) { }
    ~Buffer() { kfree(data); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
};

Result<void> read_exact(vfs::File& file, void* buffer, usize size, u64 offset)
{
    usize done = TRY(vfs::pread(file, buffer, size, offset));
    if (done != size)
        return Error::from_errno(EIO); // the file is shorter than its headers say
    return {};
}

u32 prot_of(u32 flags)
{
    return (flags & elf::PF_R ? PROT_READ : 0) | (flags & elf::PF_W ? PROT_WRITE : 0) |
           (flags & elf::PF_X ? PROT_EXEC : 0);
}

Result<void> reject(const char* path, const char* why)
{
    log_warn("exec", "%s: cannot execute: %s", path, why);
    return Error::from_errno(ENOEXEC);
}

// Copy file bytes [offset, offset + size) to user address `address` of the
// (not yet active) space, a page at a time.
Result<void> fill_from_file(vfs::File& file, mm::AddressSpace& space, uptr address, u64 offset, usize size)
{
    Buffer bounce(PAGE_SIZE);
    if (!bounce.data)
        return Error::from_errno(ENOMEM);
    while (size) {
        usize chunk = min(size, PAGE_SIZE);
        TRY(read_exact(file, bounce.data, chunk, offset));
        TRY(space.populate_from(address, bounce.data, chunk));
        address += chunk;
        offset += chunk;
        size -= chunk;
    }
    return {};
}

} // namespace

bool is_elf(const u8* header, usize size) { return size >= 4 && memcmp(header, elf::MAGIC, 4) == 0; }

Result<LoadedImage> load_elf(vfs::File& file, const char* path, mm::AddressSpace& space)
{
    elf::Header header;
    TRY(read_exact(file, &header, sizeof header, 0));
    if (!is_elf(header.ident, sizeof header.ident))
        return Error::from_errno(ENOEXEC);
    if (header.ident[4] != elf::CLASS_64 || header.ident[5] != elf::DATA_LSB ||
        header.ident[6] != elf::VERSION_CURRENT || header.machine != elf::MACHINE_X86_64) {
        TRY(reject(path, "not an x86-64 ELF-64 little-endian file"));
    }
    if (header.type != elf::TYPE_EXEC && header.type != elf::TYPE_DYN)
        TRY(reject(path, "not an executable (ELF type is neither EXEC nor DYN)"));
    if (header.phentsize != sizeof(elf::ProgramHeader) || header.phnum == 0 || header.phnum > MAX_PROGRAM_HEADERS)
        TRY(reject(path, "malformed program header table"));

    usize table_size = static_cast<usize>(header.phnum) * sizeof(elf::ProgramHeader);
    Buffer table(table_size);
    if (!table.data)
        return Error::from_errno(ENOMEM);
    TRY(read_exact(file, table.data, table_size, header.phoff));
    auto* phdrs = static_cast<const elf::ProgramHeader*>(table.data);

    LoadedImage image;
    uptr lowest = ~0ul;
    uptr highest = 0;
    bool have_phdr_segment = false;
    uptr phdr_vaddr = 0;
    for (u16 i = 0; i < header.phnum; i++) {
        const elf::ProgramHeader& ph = phdrs[i];
        switch (ph.type) {
        case elf::PT_INTERP:
            TRY(reject(path, "dynamically linked (PT_INTERP): only static executables are supported"));
            break;
        case elf::PT_GNU_STACK:
            image.executable_stack = ph.flags & elf::PF_X;
            break;
        case elf::PT_PHDR:
            have_phdr_segment = true;
            phdr_vaddr = ph.vaddr;
            break;
        case elf::PT_TLS:
            if (ph.filesz > ph.memsz || (ph.align & (ph.align - 1)))
                TRY(reject(path, "malformed PT_TLS"));
            break;
        case elf::PT_LOAD:
            if (ph.filesz > ph.memsz)
                TRY(reject(path, "PT_LOAD with p_filesz > p_memsz"));
            if ((ph.vaddr - ph.offset) % PAGE_SIZE)
                TRY(reject(path, "PT_LOAD whose address and file offset disagree modulo the page size"));
            if (ph.memsz > mm::USER_END || ph.vaddr > mm::USER_END - ph.memsz)
                TRY(reject(path, "PT_LOAD outside user space"));
            if (ph.memsz) {
                lowest = min(lowest, align_down(uptr(ph.vaddr), uptr(PAGE_SIZE)));
                highest = max(highest, uptr(ph.vaddr + ph.memsz));
            }
            break;
        default:
            break;
        }
    }
    if (highest == 0)
        TRY(reject(path, "no loadable segment"));

    uptr bias = header.type == elf::TYPE_DYN ? ELF_DYN_BASE - lowest : 0;
    if (highest + bias > mm::USER_END || lowest + bias < mm::MMAP_MIN_ADDR)
        TRY(reject(path, "segments outside the user address range"));

    uptr mapped_end = 0; // end of the page range mapped so far (segments ascend)
    u32 mapped_end_prot = 0;
    for (u16 i = 0; i < header.phnum; i++) {
        const elf::ProgramHeader& ph = phdrs[i];
        if (ph.type != elf::PT_LOAD || ph.memsz == 0)
            continue;
        uptr start = align_down(uptr(ph.vaddr + bias), uptr(PAGE_SIZE));
        uptr end = align_up(uptr(ph.vaddr + bias + ph.memsz), uptr(PAGE_SIZE));
        u32 prot = prot_of(ph.flags);
        if (start < mapped_end) {
            // Two segments share a page: it gets both permissions.
            if (start + PAGE_SIZE != mapped_end)
                TRY(reject(path, "overlapping PT_LOAD segments"));
            TRY(space.protect(start, PAGE_SIZE, prot | mapped_end_prot));
            start = mapped_end;
        }
        if (end > start) {
            mm::MapRequest request;
            request.address = start;
            request.length = end - start;
            request.prot = prot;
            request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
            TRY(space.map(request));
        }
        mapped_end = end;
        mapped_end_prot = prot;
        // The file bytes from the start of the first page (Linux maps whole
        // file pages, so what precedes p_vaddr in its page is file content
        // too); the rest of the last page and the bss stay zero.
        uptr page_start = align_down(uptr(ph.vaddr + bias), uptr(PAGE_SIZE));
        usize lead = ph.vaddr + bias - page_start;
        if (ph.filesz)
            TRY(fill_from_file(file, space, page_start, ph.offset - lead, ph.filesz + lead));
        if (!have_phdr_segment && header.phoff >= ph.offset && header.phoff + table_size <= ph.offset + ph.filesz)
            phdr_vaddr = ph.vaddr + (header.phoff - ph.offset);
    }
    if (!phdr_vaddr)
        TRY(reject(path, "program headers not in a loaded segment"));

    image.entry = header.entry + bias;
    image.phdr = phdr_vaddr + bias;
    image.phnum = header.phnum;
    image.phent = header.phentsize;
    image.load_bias = bias;
    image.brk_start = align_up(highest + bias, uptr(PAGE_SIZE));
    return image;
}

} // namespace proc
