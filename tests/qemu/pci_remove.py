#!/usr/bin/env python3
"""PCI driver unbind/rebind with NVMe and virtio-blk attached: ktest
pci_remove reads the host's pattern images, refuses removal while the device
file is open (EBUSY), checks ENODEV for I/O to a device being removed,
unbinds (registry and PCI table without the device, /dev node answering
ENODEV), rebinds and verifies the same data, and checks a second cycle
returns every page and heap byte. The host then checks the log for each
device's teardown (NVMe queues deleted and controller shut down, virtio
device reset) and the ktest summary."""
import re

import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"pci_remove smp={a.smp}")
    seed = 0x5EED2000 + a.smp
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        r = scenario.boot(a, f"ktest=pci_remove remove.test=1 blk.seed={seed}",
                          drives=storage.drives(nvme, virtio, a.smp), echo=False)
        print("\n".join(l for l in r.output.splitlines()
                        if "ktest" in l or "pci" in l or "removed" in l or "remov" in l or "shutdown" in l))
        storage.check_ktests(c, r)
        s = storage.ktest_summary(r.output)
        c.check(s == (2, 0), f"both pci_remove cases ran and passed ({s})")
        for dev in ("nvme0n1", "vda"):
            c.check(f"pci_remove: {dev}: unbind/rebind verified" in r.output, f"{dev}: unbind/rebind verified")
            c.check(len(re.findall(rf"block: {dev}: removed$", r.output, re.M)) == 2, f"{dev}: removed twice")
        c.check(len(re.findall(r"nvme: nvme0: shutdown complete", r.output)) >= 2, "NVMe controller shut down on remove")
        c.check("deleting queue" not in r.output, "NVMe I/O queues deleted without error")
        c.check(len(re.findall(r"nvme: nvme0: removed$", r.output, re.M)) == 2, "nvme0 removed twice")
        c.check(len(re.findall(r"virtio-blk: vda: removed$", r.output, re.M)) == 2, "vda removed twice")
        c.check("device reset did not complete" not in r.output, "virtio-blk device reset on remove")
    return c.finish()


if __name__ == "__main__":
    raise SystemExit(main())
