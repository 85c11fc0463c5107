#!/usr/bin/env python3
"""Writes then flush, checked from the host: Sluice writes the pattern of a
second seed over random ranges of NVMe and virtio-blk and flushes; after
power-off the host rebuilds the expected image from the ranges the guest
printed and compares the image files byte for byte (cmp)."""
import re
import shutil
import subprocess
import sys

import blk_image
import scenario
import storage


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"blk_write smp={a.smp}")
    seed, seed2 = 0x1111 + a.smp, 0x2222 + a.smp
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        expected = {"nvme0n1": f"{tmp}/nvme.expected", "vda": f"{tmp}/virtio.expected"}
        shutil.copy(nvme, expected["nvme0n1"])
        shutil.copy(virtio, expected["vda"])
        r = scenario.boot(a, f"ktest=blk_write blk.seed2={seed2} blk.ranges=12",
                          drives=storage.drives(nvme, virtio, a.smp), echo=False)
        storage.check_ktests(c, r)
        ranges = re.findall(r"^blk_write: range (\S+) (\d+) (\d+)$", r.output, re.M)
        c.check(any(d == "nvme0n1" for d, _, _ in ranges), f"{len(ranges)} ranges written")
        c.check("nvme0: shutdown complete" in r.output, "NVMe shutdown notification completed")
        for device, sector, count in ranges:
            blk_image.apply_range(expected[device], int(sector), int(count), seed2)
        images = {"nvme0n1": nvme, "vda": virtio}
        for device in sorted({d for d, _, _ in ranges}):
            same = subprocess.run(["cmp", str(images[device]), expected[device]]).returncode == 0
            c.check(same, f"{device}: image equals the expected bytes (cmp)")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
