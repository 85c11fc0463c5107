#!/usr/bin/env python3
"""ext2 read and write, checked from the host with e2fsprogs.

Read: the host builds an image with `mkfs.ext2 -d` from a directory of files
with random content and sizes (0 B to several MiB, sparse files, deep
directories, symlinks, an 8 MiB file for readahead, a sparse file whose data
needs triple-indirect blocks with 1 KiB blocks; over 300 files); Sluice mounts
it (root2=/dev/nvme0n1 with 4 KiB and 2 KiB blocks, root2=/dev/vda read-only
with 1 KiB blocks), reads every file and prints its FNV-1a hash; every file
must match the host's, the readahead counters must show large requests and no
reads of a cached file, and /proc/mounts must say rw or ro (ktest procfs).

Write: an empty image from `mkfs.ext2 -b 1024` on NVMe (root2=/dev/nvme0n1);
Sluice creates 3000 files, appends, truncates, renames and deletes and
reports what each must contain (exactly as many as the rules leave); after
power-off the superblock must be clean (dumpe2fs -h), `e2fsck -fn` must find
nothing to fix and count exactly the inodes expected, and every file read back
with debugfs must have the reported hash; O_DIRECT alignment and coherence and
`..` across the mount point (ktest vfs_mount) are checked in the guest.

Fsync: the guest fsyncs a file and prints a marker; the host kills QEMU at
once; the data must be in the image (debugfs), e2fsck -fn must pass and the
superblock must say "not clean" (it was mounted read-write when killed).
"""
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile

import scenario
import storage

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a(data, h=FNV_OFFSET):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def fnv1a_zeros(count, h):
    """fnv1a over `count` zero bytes: each is h = h * PRIME (xor 0 is nothing)."""
    return (h * pow(FNV_PRIME, count, 1 << 64)) & 0xFFFFFFFFFFFFFFFF


# A sparse file whose data needs triple-indirect blocks with 1 KiB blocks:
# 12 direct + 256 single + 256*256 double-indirect blocks end at 65804 KiB.
TRIPLE_DATA_OFFSET = (65 << 20) + (300 << 10)


def fnv1a_file(path):
    # Faster than byte-at-a-time for big files: same function, chunked.
    h = FNV_OFFSET
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h = fnv1a(chunk, h)
    return h


def make_tree(root, rng):
    """Files of random content; returns {path inside the fs: (size, hash)} and symlinks."""
    files, links = {}, {}

    def add(rel, data):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files["/mnt/" + rel] = (len(data), fnv1a(data))

    sizes = [0, 1, 100, 1023, 1024, 1025, 4095, 4096, 4097, 49152, 49153, 300000, 1 << 20, 3 * (1 << 20) + 7]
    for i, size in enumerate(sizes):
        add(f"sizes/f{i}", rng.randbytes(size))
    for i in range(300):
        add(f"many/d{i % 7}/file-{i}", rng.randbytes(rng.choice([0, 10, 700, 3000, 9000, 40000])))
    deep = "/".join(f"level{i}" for i in range(24))
    add(f"{deep}/leaf", rng.randbytes(5000))
    add("big", rng.randbytes(8 << 20))
    # Sparse: data, a hole of several MiB, data.
    sparse = root / "sparse"
    head, tail = rng.randbytes(3000), rng.randbytes(7000)
    with open(sparse, "wb") as f:
        f.write(head)
        f.seek(6 << 20)
        f.write(tail)
    files["/mnt/sparse"] = (os.path.getsize(sparse), fnv1a_file(sparse))
    # Data past the double-indirect range of a 1 KiB-block filesystem (and a
    # hole of 65 MiB before it); hashed without reading the hole byte by byte.
    triple = root / "triple"
    data = rng.randbytes(9000)
    with open(triple, "wb") as f:
        f.seek(TRIPLE_DATA_OFFSET)
        f.write(data)
    files["/mnt/triple"] = (TRIPLE_DATA_OFFSET + len(data), fnv1a(data, fnv1a_zeros(TRIPLE_DATA_OFFSET, FNV_OFFSET)))
    for name, target in [("short-link", "sizes/f1"), ("long-link", "many/" + "x" * 100)]:
        os.symlink(target, root / name)
        links["/mnt/" + name] = target
    return files, links


def fs_state(image):
    """The superblock's s_state as dumpe2fs prints it ("clean", "not clean", ...)."""
    out = subprocess.run(["dumpe2fs", "-h", str(image)], capture_output=True, text=True).stdout
    m = re.search(r"^Filesystem state:\s+(.+?)\s*$", out, re.M)
    return m.group(1) if m else None


def run_read(a, c, tmp, block_size, virtio=False):
    rng = random.Random(4242 + block_size)
    src = pathlib.Path(tmp) / f"src{block_size}"
    src.mkdir()
    files, links = make_tree(src, rng)
    image = pathlib.Path(tmp) / f"read{block_size}.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", str(block_size), "-d", str(src), str(image), "96M"],
                   check=True)
    if virtio:
        drives = [["-drive", f"file={image},if=none,id=vd0drive,format=raw,cache=writeback",
                   "-device", f"virtio-blk-pci,drive=vd0drive,num-queues={a.smp}"]]
        device = "vda"
    else:
        drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback",
                   "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
        device = "nvme0n1"
    # The virtio run mounts read-only (root2.ro): reading needs nothing more,
    # and ktest procfs checks that /proc/mounts says "ro" (and "rw" on NVMe).
    ro = " root2.ro" if virtio else ""
    r = scenario.boot(a, f"root2=/dev/{device}{ro} ktest=ext2_read,procfs", drives=drives, echo=False)
    storage.check_ktests(c, r)
    seen = {m[0]: (int(m[1]), int(m[2], 16))
            for m in re.findall(r"^ext2_read: file (\S+) (\d+) ([0-9a-f]{16})$", r.output, re.M)}
    seen_links = dict(re.findall(r"^ext2_read: symlink (\S+) (\S+)$", r.output, re.M))
    wrong = [p for p, v in files.items() if seen.get(p) != v]
    c.check(not wrong, f"-b {block_size}: all {len(files)} files read back with the host's hashes"
            + (f" (wrong: {wrong[:5]})" if wrong else ""))
    c.check(set(seen) == set(files), f"-b {block_size}: no extra or missing files ({len(seen)} seen)")
    c.check(seen_links == links, f"-b {block_size}: symlink targets match")
    if block_size == 1024:
        stat = subprocess.run(["debugfs", "-R", "stat /triple", str(image)], capture_output=True, text=True).stdout
        c.check("(TIND)" in stat, "-b 1024: /triple uses a triple-indirect block (debugfs stat), read back above")
    mounts = re.search(r"^procfs: mounts (.*)$", r.output, re.M)
    want = f"/dev/{device} /mnt ext2 {'ro' if virtio else 'rw'} 0 0"
    c.check(mounts is not None and mounts.group(1) == want, f"-b {block_size}: /proc/mounts line {want!r}")
    m = re.search(r"^ext2_read: readahead pages=(\d+) cold_ios=(\d+) cold_sectors=(\d+) warm_ios=(\d+)$",
                  r.output, re.M)
    if c.check(m is not None, f"-b {block_size}: readahead counters reported"):
        pages, cold, sectors, warm = map(int, m.groups())
        c.check(cold * 8 <= pages, f"-b {block_size}: sequential read of {pages} pages in {cold} device reads")
        c.check(warm == 0, f"-b {block_size}: second read of the cached file: {warm} device reads")


WRITE_FILES = 3000


def expected_live_files(count):
    """The files ext2_write.create_change_and_report leaves, by its rules:
    a rename over an existing file (from i = 5, 45, ...) ends i + 1, then
    every fourth file from 6 on is unlinked."""
    live = [True] * count
    for i in range(5, count - 1, 40):
        if live[i] and live[i + 1]:
            live[i + 1] = False
    for i in range(6, count, 4):
        live[i] = False
    return sum(live)


def run_write(a, c, tmp):
    image = pathlib.Path(tmp) / "write.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", str(image), "128M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    r = scenario.boot(a, f"root2=/dev/nvme0n1 ktest=ext2_write,vfs_mount ext2.files={WRITE_FILES}", drives=drives, echo=False)
    storage.check_ktests(c, r)
    expected = {m[0]: (int(m[1]), int(m[2], 16))
                for m in re.findall(r"^ext2_write: file (\S+) (\d+) ([0-9a-f]{16})$", r.output, re.M)}
    live = expected_live_files(WRITE_FILES)
    c.check(len(expected) == live, f"{len(expected)} files reported by the guest, {live} expected "
            f"({WRITE_FILES} created, then appended, truncated, renamed, deleted)")
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    # e2fsck -fn exits 0 on a consistent image even when it was not unmounted
    # cleanly: the superblock state is checked on its own.
    state = fs_state(image)
    c.check(state == "clean", f"superblock state after power-off: {state!r} (dumpe2fs -h)")
    c.check(fsck.returncode == 0, "e2fsck -fn finds nothing to fix"
            + ("" if fsck.returncode == 0 else "\n" + fsck.stdout[-3000:]))
    # Inodes in use, counted by e2fsck: the 11 of an empty filesystem (the
    # reserved ones and lost+found), the live files, /w and its 4 directories
    # (a, b, a/deep, er-moved) and the 2 symlinks; nothing leaked.
    m = re.search(r"(\d+)/\d+ files", fsck.stdout)
    used = int(m.group(1)) if m else None
    c.check(used == 11 + live + 5 + 2, f"inodes in use after the run: {used}, expected {11 + live + 5 + 2} (e2fsck)")
    out = pathlib.Path(tmp) / "dump"
    out.mkdir()
    commands = pathlib.Path(tmp) / "commands"
    names = {}
    with open(commands, "w") as f:
        for i, path in enumerate(sorted(expected)):
            names[path] = out / str(i)
            f.write(f"dump {path} {names[path]}\n")
    subprocess.run(["debugfs", "-f", str(commands), str(image)], capture_output=True, check=True)
    wrong = []
    for path, (size, h) in expected.items():
        p = names[path]
        if not p.exists() or p.stat().st_size != size or fnv1a_file(p) != h:
            wrong.append(path)
    c.check(not wrong, f"debugfs reads back every file with the guest's content"
            + (f" (wrong: {wrong[:5]})" if wrong else ""))
    stat = subprocess.run(["debugfs", "-R", "stat /w/b/short-link", str(image)], capture_output=True, text=True)
    c.check('Fast link dest: "../a/file-0"' in stat.stdout, "fast symlink written")
    cat = subprocess.run(["debugfs", "-R", "cat /w/b/long-link", str(image)], capture_output=True, text=True)
    c.check("a-rather-long-symlink-target" in cat.stdout, "slow symlink written")


def run_fsync(a, c, tmp):
    image = pathlib.Path(tmp) / "fsync.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", str(image), "64M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    r = scenario.boot(a, "root2=/dev/nvme0n1 ktest=ext2_fsync ext2.kill_after_fsync", drives=drives, echo=False,
                      kill_on="ext2_fsync: durable", timeout=min(a.timeout, 200))
    m = re.search(r"^ext2_fsync: durable (\S+) (\d+) ([0-9a-f]{16})", r.output, re.M)
    if not c.check(m is not None, "guest fsynced and printed the marker; QEMU killed right after"):
        return
    path, size, h = m.group(1), int(m.group(2)), int(m.group(3), 16)
    out = pathlib.Path(tmp) / "durable"
    subprocess.run(["debugfs", "-R", f"dump {path} {out}", str(image)], capture_output=True)
    c.check(out.exists() and out.stat().st_size == size and fnv1a_file(out) == h,
            "data acknowledged by fsync is in the image after the kill (debugfs)")
    # Killed while mounted read-write: the state must say so (this is what
    # proves the clean check of the write part can fail).
    state = fs_state(image)
    c.check(state == "not clean", f"superblock state after the kill: {state!r} (dumpe2fs -h)")
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    c.check(fsck.returncode == 0, "e2fsck -fn: the killed image is consistent"
            + ("" if fsck.returncode == 0 else "\n" + fsck.stdout[-2000:]))


def run_pressure(a, c, tmp):
    image = pathlib.Path(tmp) / "pressure.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "4096", str(image), "800M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=unsafe",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    r = scenario.boot(a, "root2=/dev/nvme0n1 ktest=ext2_pressure ext2.pressure_mib=512", drives=drives,
                      echo=False, mem="128M")
    storage.check_ktests(c, r)
    m = re.search(r"^ext2_pressure: size=(\d+) MiB ram=(\d+) MiB", r.output, re.M)
    c.check(m is not None and int(m.group(1)) >= 4 * int(m.group(2)),
            "a file four times the guest's RAM written and read back through ext2"
            + (f" ({m.group(1)} MiB, RAM {m.group(2)} MiB)" if m else ""))
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    c.check(fsck.returncode == 0, "e2fsck -fn after the pressure run")


def run_limits(a, c, tmp):
    """ktests ext2_limits (the largest file) and ext2_enospc (the filesystem
    filled to ENOSPC) on a small 1 KiB-block image; then e2fsck -fn must find
    nothing to fix."""
    image = pathlib.Path(tmp) / "limits.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", str(image), "4M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    # Two boots: the largest file needs free blocks, ext2_enospc leaves none.
    for suite in ("ext2_limits", "ext2_enospc"):
        r = scenario.boot(a, f"root2=/dev/nvme0n1 ktest={suite}", drives=drives, echo=False)
        storage.check_ktests(c, r)
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    c.check(fsck.returncode == 0, "e2fsck -fn after the limits run"
            + ("" if fsck.returncode == 0 else "\n" + fsck.stdout[-3000:]))


def run_vfs_api(a, c, tmp):
    """ktest vfs_api_ext2: setattr written back to an ext2 image (debugfs reads
    the inode), directory SEEK_END, the block device file; an ext3 image is
    mounted read-only (EROFS)."""
    image = pathlib.Path(tmp) / "vfsapi.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", str(image), "8M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    r = scenario.boot(a, "root2=/dev/nvme0n1 ktest=vfs_api_ext2 vfs_api.ext2", drives=drives, echo=False)
    storage.check_ktests(c, r)
    c.check("ext2 attributes written" in r.output, "vfs_api_ext2.setattr_written_back ran on the ext2 mount")
    stat = subprocess.run(["debugfs", "-R", "stat /vfs-api-attr", str(image)], capture_output=True, text=True).stdout
    c.check(re.search(r"Mode:\s+0640\b", stat) is not None, "debugfs: mode 0640")
    c.check(re.search(r"User:\s+1234\s+Group:\s+70000\b", stat) is not None, "debugfs: uid 1234, gid 70000")
    c.check(re.search(r"atime: 0x0*457\b", stat) is not None, "debugfs: atime 1111")
    c.check(re.search(r"mtime: 0x0*8ae\b", stat) is not None, "debugfs: mtime 2222")
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    c.check(fsck.returncode == 0, "e2fsck -fn after vfs_api_ext2")

    ext3 = pathlib.Path(tmp) / "vfsapi3.img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext3", str(ext3), "16M"], check=True)
    drives = [["-drive", f"file={ext3},if=none,id=nvme0drive,format=raw,cache=writeback",
               "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=4"]]
    r = scenario.boot(a, "root2=/dev/nvme0n1 ktest=vfs_api_ext2 vfs_api.ext3", drives=drives, echo=False)
    storage.check_ktests(c, r)
    c.check("mounted read-only: has_journal" in r.output, "the ext3 image is mounted read-only, naming has_journal")


def run_lifetime(a, c, tmp):
    """ktest vfs_lifetime: mount/unmount cycles, files created and unlinked,
    names looked up then reclaimed; memory counters back to their start. The
    image (virtio-blk) holds /many/f0 .. f299, f<i> of i bytes."""
    src = pathlib.Path(tmp) / "lifetime-src"
    (src / "many").mkdir(parents=True)
    for i in range(300):
        (src / "many" / f"f{i}").write_bytes(bytes([i % 251]) * i)
    image = pathlib.Path(tmp) / "lifetime.img"
    subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", "-d", str(src), str(image), "16M"], check=True)
    drives = [["-drive", f"file={image},if=none,id=vd0drive,format=raw,cache=writeback",
               "-device", f"virtio-blk-pci,drive=vd0drive,num-queues={a.smp}"]]
    r = scenario.boot(a, "ktest=vfs_lifetime vfs_lifetime.ext2=/dev/vda", drives=drives, echo=False)
    print("\n".join(l for l in r.output.splitlines() if "vfs_lifetime" in l))
    storage.check_ktests(c, r)
    s = storage.ktest_summary(r.output)
    c.check(s is not None and s[0] + s[1] == 3, f"the three vfs_lifetime tests ran ({s})")
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    c.check(fsck.returncode == 0, "e2fsck -fn after the lifetime run"
            + ("" if fsck.returncode == 0 else "\n" + fsck.stdout[-2000:]))


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--part", choices=["read", "write", "fsync", "pressure", "limits", "vfs_api", "lifetime", "all"], default="all")
    a = p.parse_args()
    c = scenario.Checks(f"ext2_rw smp={a.smp}")
    with tempfile.TemporaryDirectory(prefix="sluice-ext2-") as tmp:
        if a.part in ("read", "all"):
            run_read(a, c, tmp, 4096)
            run_read(a, c, tmp, 1024, virtio=True)
            run_read(a, c, tmp, 2048)
        if a.part in ("write", "all"):
            run_write(a, c, tmp)
        if a.part in ("fsync", "all"):
            run_fsync(a, c, tmp)
        if a.part == "pressure":
            run_pressure(a, c, tmp)
        if a.part == "limits":
            run_limits(a, c, tmp)
        if a.part == "vfs_api":
            run_vfs_api(a, c, tmp)
        if a.part == "lifetime":
            run_lifetime(a, c, tmp)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
