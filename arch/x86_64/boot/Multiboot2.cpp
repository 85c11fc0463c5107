#include "arch/x86_64/boot/Multiboot2.h"

#include "kernel/lib/String.h"
#include "kernel/mm/DirectMap.h"

namespace multiboot2 {
namespace {

// Tag types, Multiboot2 specification §3.6.
enum TagType : u32 {
    TAG_END = 0,
    TAG_CMDLINE = 1,
    TAG_BOOT_LOADER_NAME = 2,
    TAG_MODULE = 3,
    TAG_MMAP = 6,
    TAG_ACPI_OLD = 14,
    TAG_ACPI_NEW = 15,
};

struct [[gnu::packed]] InfoHeader {
    u32 total_size;
    u32 reserved;
};

struct [[gnu::packed]] Tag {
    u32 type;
    u32 size;
};

struct [[gnu::packed]] ModuleTag {
    Tag tag;
    u32 mod_start;
    u32 mod_end;
    char cmdline[];
};

struct [[gnu::packed]] MmapTag {
    Tag tag;
    u32 entry_size;
    u32 entry_version;
};

struct [[gnu::packed]] MmapEntry {
    u64 base_addr;
    u64 length;
    u32 type;
    u32 reserved;
};
static_assert(sizeof(MmapEntry) == 24);

// Multiboot2 §3.6.8 memory types.
MemoryRegion::Type region_type(u32 type)
{
    switch (type) {
    case 1:
        return MemoryRegion::Type::Usable;
    case 3:
        return MemoryRegion::Type::AcpiReclaimable;
    case 4:
        return MemoryRegion::Type::AcpiNvs;
    case 5:
        return MemoryRegion::Type::Bad;
    default:
        return MemoryRegion::Type::Reserved;
    }
}

void copy_string(char* dest, usize size, const char* src)
{
    usize n = 0;
    while (n + 1 < size && src[n]) {
        dest[n] = src[n];
        n++;
    }
    dest[n] = '\0';
}

} // namespace

bool parse(u32 magic, PhysAddr info_phys, BootInfo& out)
{
    if (magic != BOOTLOADER_MAGIC)
        return false;
    auto* header = phys_to_virt<InfoHeader>(info_phys);
    out.info_start = info_phys;
    out.info_end = info_phys + header->total_size;

    u8* cursor = reinterpret_cast<u8*>(header) + sizeof(InfoHeader);
    u8* end = reinterpret_cast<u8*>(header) + header->total_size;
    while (cursor + sizeof(Tag) <= end) {
        auto* tag = reinterpret_cast<Tag*>(cursor);
        // A tag shorter than its own header (or running past the end) would
        // never advance the cursor: stop rather than loop at boot.
        if (tag->type == TAG_END || tag->size < sizeof(Tag) || tag->size > static_cast<usize>(end - cursor))
            break;
        switch (tag->type) {
        case TAG_CMDLINE:
            out.command_line.parse(reinterpret_cast<const char*>(cursor + sizeof(Tag)));
            break;
        case TAG_BOOT_LOADER_NAME:
            copy_string(out.boot_loader_name, sizeof(out.boot_loader_name),
                        reinterpret_cast<const char*>(cursor + sizeof(Tag)));
            break;
        case TAG_MODULE: {
            auto* module = reinterpret_cast<ModuleTag*>(tag);
            if (out.module_count < BootInfo::MAX_MODULES) {
                BootModule& m = out.modules[out.module_count++];
                m.start = module->mod_start;
                m.end = module->mod_end;
                copy_string(m.name, sizeof(m.name), module->cmdline);
            }
            break;
        }
        case TAG_MMAP: {
            auto* mmap = reinterpret_cast<MmapTag*>(tag);
            // §3.6.8: entry_size is a multiple of 8 and at least the 24-byte entry.
            if (mmap->entry_size < sizeof(MmapEntry))
                break;
            for (u8* e = cursor + sizeof(MmapTag); e + sizeof(MmapEntry) <= cursor + tag->size;
                 e += mmap->entry_size) {
                auto* entry = reinterpret_cast<MmapEntry*>(e);
                if (out.region_count < BootInfo::MAX_REGIONS)
                    out.regions[out.region_count++] = {entry->base_addr, entry->length, region_type(entry->type)};
            }
            break;
        }
        case TAG_ACPI_OLD:
        case TAG_ACPI_NEW: {
            // Prefer the ACPI 2.0+ RSDP (XSDT) when both are present.
            usize length = min<usize>(tag->size - sizeof(Tag), sizeof(out.rsdp));
            if (tag->type == TAG_ACPI_NEW || out.rsdp_length == 0) {
                memcpy(out.rsdp, cursor + sizeof(Tag), length);
                out.rsdp_length = length;
            }
            break;
        }
        default:
            break;
        }
        cursor += align_up<u32>(tag->size, 8);
    }
    return true;
}

} // namespace multiboot2
