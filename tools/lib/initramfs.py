"""Build Sluice's initramfs: a cpio "newc" archive (the format Linux unpacks,
kernel Documentation/driver-api/early-userspace/buffer-format.rst) written
directly, so that owners are root, times are zero and the same inputs give
the same bytes.

An Image is a set of guest paths: directories, regular files (copied from the
host, or given as bytes) and symlinks. Parents are created implicitly and written first.
"""
import os
import pathlib
import stat
import subprocess

BUSYBOX = "/bin/busybox"


class Image:
    def __init__(self):
        self.entries = {}  # guest path -> ("dir", mode) | ("file", mode, host path) | ("link", target)

    def _parents(self, guest):
        parts = pathlib.PurePosixPath(guest).parts[1:-1]
        for i in range(len(parts)):
            path = "/" + "/".join(parts[: i + 1])
            self.entries.setdefault(path, ("dir", 0o755))

    @classmethod
    def read(cls, archive):
        """The entries of a newc archive this module wrote (the build's
        initramfs.cpio), to extend it."""
        image = cls()
        data = pathlib.Path(archive).read_bytes()
        at = 0
        while True:
            if data[at:at + 6] != b"070701":
                raise ValueError(f"{archive}: not a cpio newc archive at offset {at}")
            fields = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
            mode, size, namesize = fields[1], fields[6], fields[11]
            name = data[at + 110: at + 110 + namesize - 1].decode()
            at = (at + 110 + namesize + 3) & ~3
            body = data[at: at + size]
            at = (at + size + 3) & ~3
            if name == "TRAILER!!!":
                return image
            guest = "/" + name
            if stat.S_ISDIR(mode):
                image.entries[guest] = ("dir", stat.S_IMODE(mode))
            elif stat.S_ISLNK(mode):
                image.entries[guest] = ("link", body.decode())
            else:
                image.entries[guest] = ("bytes", stat.S_IMODE(mode), body)

    def bytes(self, guest, data, mode=0o644):
        self._parents(guest)
        self.entries[guest] = ("bytes", mode, data)

    def directory(self, guest, mode=0o755):
        self._parents(guest)
        self.entries[guest] = ("dir", mode)

    def file(self, guest, host, mode=None):
        host = pathlib.Path(host)
        if mode is None:
            mode = stat.S_IMODE(host.stat().st_mode)
        self._parents(guest)
        self.entries[guest] = ("file", mode, host)

    def symlink(self, guest, target):
        self._parents(guest)
        self.entries[guest] = ("link", target)

    def add_busybox(self, busybox=BUSYBOX):
        """Debian's static busybox at /bin/busybox, and a symlink for each of
        its applets where `busybox --list-full` installs it; a path the image
        already has (Sluice's own /sbin/init) keeps its program."""
        self.file(BUSYBOX, busybox, 0o755)
        applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for rel in applets:
            guest = "/" + rel
            if guest not in self.entries:
                self.symlink(guest, BUSYBOX)

    def write(self, out):
        with open(out, "wb") as f:
            inode = 1
            for guest in sorted(self.entries, key=lambda p: (p.count("/"), p)):
                entry = self.entries[guest]
                name = guest.lstrip("/").encode()
                if entry[0] == "dir":
                    mode, data = stat.S_IFDIR | entry[1], b""
                elif entry[0] == "file":
                    mode, data = stat.S_IFREG | entry[1], entry[2].read_bytes()
                elif entry[0] == "bytes":
                    mode, data = stat.S_IFREG | entry[1], entry[2]
                else:
                    mode, data = stat.S_IFLNK | 0o777, entry[1].encode()
                _record(f, inode, mode, 2 if entry[0] == "dir" else 1, name, data)
                inode += 1
            _record(f, 0, 0, 1, b"TRAILER!!!", b"")


def _pad(f):
    f.write(b"\0" * (-f.tell() % 4))


def _record(f, inode, mode, nlink, name, data):
    # magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
    # rdevmajor, rdevminor, namesize (with its NUL), check: 8 hex digits each.
    fields = [inode, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    f.write(b"070701" + b"".join(b"%08x" % v for v in fields) + name + b"\0")
    _pad(f)
    f.write(data)
    _pad(f)


def base_image(files=(), busybox=BUSYBOX):
    """The standard tree: the bundled programs (host=guest pairs), busybox
    with its applets, and the directories init and programs expect."""
    image = Image()
    for d in ("/dev", "/proc", "/mnt", "/etc", "/root"):
        image.directory(d)
    image.directory("/tmp", 0o1777)
    for spec in files:
        host, guest = spec.split("=", 1)
        image.file(guest, host, 0o755)
    if busybox and os.path.exists(busybox):
        image.add_busybox(busybox)
    return image
