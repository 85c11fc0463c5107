#!/usr/bin/env python3
"""Writes then flush, checked from the host: Sluice writes the pattern of a
second seed over random ranges of NVMe and virtio-blk and flushes; after
power-off the host rebuilds the expected image from the ranges the guest
printed and compares the image files byte for byte (cmp)."""
import sys

import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"blk_write smp={a.smp}")
    seed, seed2 = 0x1111 + a.smp, 0x2222 + a.smp
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        images = {"nvme0n1": nvme, "vda": virtio}
        expected = storage.expect_writes(images, tmp)
        r = scenario.boot(a, f"ktest=blk_write blk.seed2={seed2} blk.ranges=12",
                          drives=storage.drives(nvme, virtio, a.smp), echo=False)
        storage.check_ktests(c, r)
        c.check("nvme0: shutdown complete" in r.output, "NVMe shutdown notification completed")
        storage.check_writes(c, r, images, expected, seed2)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
