#!/usr/bin/env python3
"""Error injection: QEMU blkdebug fails reads and writes at one sector of both
the NVMe namespace and the virtio-blk disk. Exactly the requests covering it
end with EIO (reads, and a write), the others succeed, nothing hangs, and
page/heap/tag counters return to their start (ktest blk_errors on both
devices); the virtio-blk suite runs too, with its injected-error test armed
by virtio_blk.eio_sector."""
import pathlib
import re
import sys

import scenario
import storage

BAD_SECTOR = 20000
EIO = 5


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"blk_errors smp={a.smp}")
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, 7)
        conf = pathlib.Path(tmp) / "blkdebug.conf"
        conf.write_text("".join(f'[inject-error]\nevent = "{e}"\nerrno = "{EIO}"\nsector = "{BAD_SECTOR}"\n\n'
                                for e in ("read_aio", "write_aio")))
        r = scenario.boot(a, f"ktest=blk_errors,virtio_blk ktest.scratch_disks blk.bad_sector={BAD_SECTOR} "
                             f"virtio_blk.eio_sector={BAD_SECTOR}",
                          drives=storage.drives(nvme, virtio, a.smp, nvme_file=f"blkdebug:{conf}:{nvme}",
                                                virtio_file=f"blkdebug:{conf}:{virtio}"),
                          echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l or "virtio" in l))
        storage.check_ktests(c, r)
        for dev in ("nvme0n1", "vda"):
            m = re.search(rf"{dev}: (\d+) of \d+ reads failed with EIO as injected; write (-?\d+)$", r.output, re.M)
            c.check(m is not None and int(m.group(1)) > 0, f"{dev}: injected read errors reported")
            c.check(m is not None and int(m.group(2)) == EIO, f"{dev}: the write covering the sector failed with EIO")
        c.check("ktest: ok   virtio_blk.injected_error_fails_only_its_request" in r.output
                and f"vda: injected error at sector {BAD_SECTOR}: reads and a write covering it failed with EIO"
                in r.output, "virtio_blk.injected_error_fails_only_its_request ran and passed")
        c.check("injected-error test skipped" not in r.output, "the injected-error test was not skipped")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
