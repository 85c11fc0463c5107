#!/usr/bin/env python3
"""Allocation-failure sweep over the storage driver probes: ktest alloc_fail
unbinds nvme0 and vda, then probes each again with the Nth allocation of the
probing thread failing, for every N the probe reaches. Every failed probe
must leave the page, heap and slab counters exactly where they started and
no MSI-X vector bound; the host checks the ktest summary and that both sweeps
reported their counts."""
import re

import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"alloc_fail smp={a.smp}")
    seed = 0x5EED3000 + a.smp
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        r = scenario.boot(a, f"ktest=alloc_fail allocfail.test=1 blk.seed={seed}",
                          drives=storage.drives(nvme, virtio, a.smp), echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "alloc_fail" in l))
        storage.check_ktests(c, r)
        s = storage.ktest_summary(r.output)
        c.check(s == (2, 0), f"both alloc_fail cases ran and passed ({s})")
        for driver in ("nvme", "virtio-blk"):
            m = re.search(rf"alloc_fail: {driver}: (\d+) allocations in a probe, (\d+) failures swept, "
                          rf"(\d+) failed cleanly, (\d+) tolerated, 0 leaked", r.output)
            c.check(m is not None and int(m.group(1)) > 10, f"{driver}: probe swept allocation by allocation")
            c.check(f"alloc_fail: {driver}: every allocation failure of the probe is clean" in r.output,
                    f"{driver}: bound again and read after the sweep")
    return c.finish()


if __name__ == "__main__":
    raise SystemExit(main())
