#!/usr/bin/env python3
"""Allocation-failure sweep over the storage driver probes: ktest alloc_fail
unbinds nvme0 and vda, then probes each again with the Nth allocation of the
probing thread failing, for every N the probe reaches, and mounts the ext2
image on vda the same way. Every failed probe
must leave the page, heap and slab counters exactly where they started and
no MSI-X vector bound; the host checks the ktest summary and that both sweeps
reported their counts."""
import pathlib
import re
import subprocess

import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"alloc_fail smp={a.smp}")
    seed = 0x5EED3000 + a.smp
    with storage.tempdir() as tmp:
        nvme, _ = storage.make_images(tmp, seed)
        # vda carries an ext2 filesystem with a few files for the mount sweep.
        src = pathlib.Path(tmp) / "ext2-src"
        (src / "dir").mkdir(parents=True)
        (src / "hello.txt").write_text("hello\n")
        (src / "dir" / "data.bin").write_bytes(bytes(range(256)) * 64)
        ext2 = pathlib.Path(tmp) / "ext2.img"
        subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", "-d", str(src), str(ext2), "16M"], check=True)
        r = scenario.boot(a, f"ktest=alloc_fail allocfail.test=1 allocfail.ext2=/dev/vda blk.seed={seed}",
                          drives=storage.drives(nvme, str(ext2), a.smp), echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "alloc_fail" in l))
        storage.check_ktests(c, r)
        s = storage.ktest_summary(r.output)
        c.check(s == (3, 0), f"the three alloc_fail cases ran and passed ({s})")
        m = re.search(r"alloc_fail: ext2: (\d+) allocations in a mount, (\d+) failures swept, "
                      r"(\d+) failed cleanly, (\d+) tolerated, 0 leaked", r.output)
        c.check(m is not None and int(m.group(1)) > 5, "ext2: mount swept allocation by allocation")
        for driver in ("nvme", "virtio-blk"):
            m = re.search(rf"alloc_fail: {driver}: (\d+) allocations in a probe, (\d+) failures swept, "
                          rf"(\d+) failed cleanly, (\d+) tolerated, 0 leaked", r.output)
            c.check(m is not None and int(m.group(1)) > 10, f"{driver}: probe swept allocation by allocation")
            c.check(f"alloc_fail: {driver}: every allocation failure of the probe is clean" in r.output,
                    f"{driver}: bound again and read after the sweep")
    return c.finish()


if __name__ == "__main__":
    raise SystemExit(main())
