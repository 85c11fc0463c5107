#!/usr/bin/env python3
"""The page cache over real devices: NVMe and virtio-blk attached, ktest
suite pagecache_dev (readahead request counts from diskstats, cached
re-reads, write + fsync + cold re-read, O_DIRECT alignment and coherence,
writer throttling), and ktest suite vfs_blockdev (the same devices opened
as files: /dev/nvme0n1, /dev/vda, buffered and O_DIRECT) and ktest suite procfs (/proc contents). With --pressure: one NVMe namespace four times the
guest's RAM written and read back through the cache (pagecache_dev_pressure),
plus the fake-device pressure suite (pagecache_pressure), in a small guest."""
import os
import re
import sys

import scenario
import storage

WRITE_BYTES_PER_SECOND = 4 << 20  # well below what a writer dirties, even a descheduled one


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--pressure", action="store_true")
    a = p.parse_args()
    c = scenario.Checks(f"pagecache_dev{' pressure' if a.pressure else ''} smp={a.smp}")
    with storage.tempdir() as tmp:
        if a.pressure:
            mem_mib = 128
            nvme = f"{tmp}/nvme.img"
            with open(nvme, "wb") as f:  # sparse: the guest writes all of it
                f.truncate(4 * mem_mib << 20)
            r = scenario.boot(a, "ktest=pagecache_dev_pressure,pagecache_pressure pc.dev=nvme0n1",
                              drives=storage.drives(nvme, None, a.smp), mem=f"{mem_mib}M", echo=False)
            c.check(os.path.getsize(nvme) == 4 * mem_mib << 20, "image size unchanged")
        else:
            nvme, virtio = storage.make_images(tmp, 0x5151)
            # Slow writes (QEMU's I/O throttling) so that writers meet the
            # hard dirty threshold whatever the host's speed.
            drives = storage.drives(nvme, virtio, a.smp)
            for d in drives:
                d[1] += f",throttling.bps-write={WRITE_BYTES_PER_SECOND}"
            r = scenario.boot(a, "ktest=pagecache_dev,vfs_blockdev,procfs ktest.scratch_disks", drives=drives, echo=False)
        for line in r.output.splitlines():
            if "ktest" in line and ("I ktest" in line or "FAIL" in line or line.startswith("ktest:   ")):
                print(line)
        storage.check_ktests(c, r)
        c.check("nvme0n1:" in r.output, "ran against nvme0n1")
        if not a.pressure:
            c.check("vda:" in r.output, "ran against vda")
            c.check("procfs: interrupts cpus=" + str(a.smp) + " nvme_queues=1 virtio_queues=1" in r.output,
                    "/proc/interrupts: a column per CPU, nvme0qN and virtio0-req.N rows counted")
            m = re.search(r"^procfs: (\S+) buffered read of (\d+) KiB: Cached (\d+) -> (\d+) kB", r.output, re.M)
            c.check(m is not None and int(m.group(4)) - int(m.group(3)) >= int(m.group(2)) // 2,
                    "/proc/meminfo Cached grows after a buffered read" + (f" ({m.group(0)})" if m else ""))
            for dev in ("nvme0n1", "vda"):
                c.check(f"vfs_blockdev: /dev/{dev} checked" in r.output,
                        f"/dev/{dev} through the VFS: buffered and O_DIRECT coherent, misaligned EINVAL")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
