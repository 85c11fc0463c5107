// The initramfs: a cpio archive in the "newc" format (Linux's
// Documentation/driver-api/early-userspace/buffer-format.rst): each member is
// a 110-byte ASCII header ("070701" and 13 8-digit hex fields), the NUL-ended
// name, padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends it.
#include "fs/ramfs/RamFs.h"
#include "fs/vfs/FileApi.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"

namespace ramfs {

namespace {

constexpr usize HEADER_SIZE = 110;
constexpr usize FIELD_MODE = 1;
constexpr usize FIELD_FILESIZE = 6;
constexpr usize FIELD_NAMESIZE = 11;

bool parse_hex(const u8* text, u32& out)
{
    u32 value = 0;
    for (usize i = 0; i < 8; i++) {
        const u8 c = text[i];
        u32 digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return false;
        value = value << 4 | digit;
    }
    out = value;
    return true;
}

} // namespace

Result<void> unpack_initramfs(const u8* archive, usize size)
{
    usize offset = 0;
    u32 files = 0;
    char path[1024];
    while (offset + HEADER_SIZE <= size) {
        const u8* header = archive + offset;
        if (memcmp(header, "070701", 6) != 0 && memcmp(header, "070702", 6) != 0)
            return Error::from_errno(EINVAL);
        u32 fields[13];
        for (usize i = 0; i < 13; i++) {
            if (!parse_hex(header + 6 + i * 8, fields[i]))
                return Error::from_errno(EINVAL);
        }
        const u32 name_size = fields[FIELD_NAMESIZE];
        const u32 file_size = fields[FIELD_FILESIZE];
        const u32 mode = fields[FIELD_MODE];
        const usize name_at = offset + HEADER_SIZE;
        const usize data_at = align_up<usize>(name_at + name_size, 4);
        if (name_size == 0 || name_at + name_size > size || data_at + file_size > size)
            return Error::from_errno(EINVAL);
        const char* name = reinterpret_cast<const char*>(archive + name_at);
        usize name_length = name_size - 1;
        if (StringView(name, name_length) == StringView("TRAILER!!!"))
            break;
        // Names are relative ("bin/x" or "./bin/x"): make them absolute.
        while (name_length && (name[0] == '.' || name[0] == '/')
            && (name_length == 1 || name[1] == '/' || name[0] == '/')) {
            name++;
            name_length--;
        }
        if (name_length > 0 && name_length + 2 < sizeof(path)) {
            path[0] = '/';
            memcpy(path + 1, name, name_length);
            const StringView target(path, name_length + 1);
            const u8* data = archive + data_at;
            Result<void> result;
            switch (mode & S_IFMT) {
            case S_IFDIR: {
                result = vfs::mkdir(target, mode & 07777);
                if (result.is_error() && result.error().code() == EEXIST)
                    result = {};
                break;
            }
            case S_IFREG: {
                auto file = vfs::open(target, O_WRONLY | O_CREAT | O_TRUNC, mode & 07777);
                if (file.is_error()) {
                    result = file.error();
                    break;
                }
                auto written = vfs::write(*file.value(), data, file_size);
                if (written.is_error())
                    result = written.error();
                (void)vfs::close(file.value());
                files++;
                break;
            }
            case S_IFLNK:
                result = vfs::symlink(StringView(reinterpret_cast<const char*>(data), file_size), target);
                break;
            default:
                break; // device nodes etc.: devfs provides those
            }
            if (result.is_error())
                log_warn("initramfs", "%.*s: errno %d", static_cast<int>(target.length()), target.chars(),
                    result.error().code());
        }
        offset = align_up<usize>(data_at + file_size, 4);
    }
    log_info("initramfs", "unpacked %u files (%zu bytes)", files, size);
    return {};
}

} // namespace ramfs
