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
        cpus = set(range(a.smp))
        for dev, tag_set in (("nvme0n1", "nvme0"), ("vda", "virtio0")):
            c.check(re.search(rf"{dev}: verified [1-9]\d* reads", r.output) is not None, f"{dev} reads verified")
            readers = {int(cpu) for cpu, n in re.findall(rf"{dev}: cpu (\d+) thread verified (\d+) reads", r.output)
                       if int(n) > 0}
            c.check(readers == cpus, f"{dev}: reads from a thread on every CPU {sorted(readers)}")
            # The CPU -> queue map printed at boot: one interrupt queue per CPU.
            mapping = {int(cpu): int(q) for cpu, q in re.findall(rf"block: {tag_set}: cpu (\d+) -> queue (\d+)",
                                                                   r.output)}
            c.check(set(mapping) == cpus and len(set(mapping.values())) == a.smp,
                    f"{tag_set}: CPU -> queue map printed, one queue per CPU {mapping}")
        # Per-queue interrupt counters, read from the console on the host side:
        # every storage queue's vector fired, each on its own CPU.
        irqs = re.findall(r"irq (\S+)\s+cpu (\d+) vector 0x[0-9a-f]+: (\d+)", r.output)
        for prefix in ("nvme0q", "virtio0-req."):
            mine = [(q, int(cpu), int(n)) for q, cpu, n in irqs if q.startswith(prefix)]
            c.check(len(mine) == a.smp and all(n > 0 for _, _, n in mine) and {cpu for _, cpu, _ in mine} == cpus,
                    f"{prefix}*: {a.smp} queue vectors, every one fired, each on its own CPU: {mine}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
