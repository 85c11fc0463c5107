#!/usr/bin/env python3
"""Random-range verified reads: the host writes images where every sector
holds its LBA and a seed; Sluice reads random ranges (512 B..1 MiB) from a
thread per CPU at depth --qd on NVMe and virtio-blk and checks every byte;
every storage queue's interrupt vector must have fired on its own CPU."""
import re
import sys

import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--qd", type=int, default=16)
    p.add_argument("--secs", type=int, default=5)
    a = p.parse_args()
    c = scenario.Checks(f"blk_verify smp={a.smp}")
    seed = 0x5EED0000 + a.smp
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        r = scenario.boot(a, f"ktest=blk_device,blk_verify blk.seed={seed} blk.qd={a.qd} blk.secs={a.secs}",
                          drives=storage.drives(nvme, virtio, a.smp), echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l or "virtio" in l
                        or "block" in l))
        storage.check_ktests(c, r)
        c.check(re.search(r"nvme0n1: verified [1-9]\d* reads", r.output) is not None, "nvme0n1 reads verified")
        irqs = re.findall(r"irq (\S+)\s+cpu (\d+) vector 0x[0-9a-f]+: (\d+)", r.output)
        c.check(len(irqs) > 0 and all(int(n) > 0 for _, _, n in irqs),
                f"every queue vector fired on its CPU: {[(q, cpu, n) for q, cpu, n in irqs]}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
