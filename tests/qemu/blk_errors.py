#!/usr/bin/env python3
"""Error injection: QEMU blkdebug fails reads and writes at one sector of the
NVMe namespace; exactly the requests covering it end with EIO, the others
succeed, nothing hangs, and page/heap/tag counters return to their start."""
import pathlib
import sys

import scenario
import storage

BAD_SECTOR = 20000


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"blk_errors smp={a.smp}")
    with storage.tempdir() as tmp:
        nvme, _ = storage.make_images(tmp, 7)
        conf = pathlib.Path(tmp) / "blkdebug.conf"
        conf.write_text("".join(f'[inject-error]\nevent = "{e}"\nerrno = "5"\nsector = "{BAD_SECTOR}"\n\n'
                                for e in ("read_aio", "write_aio")))
        r = scenario.boot(a, f"ktest=blk_errors blk.dev=nvme0n1 blk.bad_sector={BAD_SECTOR}",
                          drives=storage.drives(nvme, None, a.smp, nvme_file=f"blkdebug:{conf}:{nvme}"),
                          echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l))
        storage.check_ktests(c, r)
        c.check("failed with EIO as injected" in r.output, "injected errors reported")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
