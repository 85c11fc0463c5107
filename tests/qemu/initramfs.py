#!/usr/bin/env python3
"""The root ramfs filled from an initramfs: the host packs a directory of
random files (with a subdirectory, a symlink and an empty file) as a cpio
"newc" archive, GRUB passes it as the Multiboot2 module "initramfs", and the
guest hashes every file it finds under /initramfs-test."""
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile

import ext2_rw
import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"initramfs smp={a.smp}")
    rng = random.Random(99)
    with tempfile.TemporaryDirectory(prefix="sluice-initramfs-") as tmp:
        root = pathlib.Path(tmp) / "root"
        top = root / "initramfs-test"
        (top / "sub" / "deeper").mkdir(parents=True)
        files = {}
        for rel, size in [("a", 0), ("b", 1), ("c", 4096), ("sub/d", 70000), ("sub/deeper/e", 1 << 20),
                          ("f", 12345)]:
            data = rng.randbytes(size)
            (top / rel).write_bytes(data)
            files[f"/initramfs-test/{rel}"] = (size, ext2_rw.fnv1a(data))
        os.symlink("sub/d", top / "link")
        archive = pathlib.Path(tmp) / "initramfs.cpio"
        names = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
        with open(archive, "wb") as out:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=names.encode(), stdout=out,
                           check=True)
        r = scenario.boot(a, "ktest=initramfs", modules=[("initramfs", str(archive))], echo=False)
        storage.check_ktests(c, r)
        seen = {m[0]: (int(m[1]), int(m[2], 16))
                for m in re.findall(r"^initramfs: file (\S+) (\d+) ([0-9a-f]{16})$", r.output, re.M)}
        links = dict(re.findall(r"^initramfs: symlink (\S+) (\S+)$", r.output, re.M))
        c.check(seen == files, f"all {len(files)} files unpacked with their content ({len(seen)} seen)")
        c.check(links == {"/initramfs-test/link": "sub/d"}, "symlink unpacked")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
