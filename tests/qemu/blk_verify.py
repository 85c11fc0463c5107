#!/usr/bin/env python3
"""Random-range verified reads: the host writes images where every sector
holds its LBA and a seed; Sluice reads random ranges (512 B..1 MiB) from a
thread per CPU at depth --qd on NVMe and virtio-blk and checks every byte;
every storage queue's interrupt vector must have fired on its own CPU.

--qd is per thread, up to the device's queue depth (NVMe 1023, virtio-blk
256 per queue under QEMU); beyond 64 the reads are up to 32 KiB so the
buffers fit, and the host checks that the depth used is the device's and
that the queues really fill: under TCG the emulated devices complete about
as fast as one thread submits, so --throttle-iops (QEMU
throttling.iops-total on the NVMe drive) holds requests in the device until
every NVMe queue holds (nearly) its full depth. (Throttling the virtio-blk drive the
same way sometimes stalls a full 256-entry queue: see docs/BLOCK.md, Tests.)

With --scheduler LIST (blk.scheduler, e.g. nvme0n1:mq-deadline,vda:none)
the devices run under the schedulers named, the boot device table must show
them, and the guest also writes a pattern over random ranges and flushes
(ktest blk_write, in a second boot: ktest order is not the command line's)
which the host compares byte for byte after power-off."""
import re
import sys

import scenario
import storage


def check_schedulers(c, r, wanted, images):
    """The boot device table shows the scheduler each device was given."""
    table = storage.device_table(r.output)
    for dev in images:
        want = wanted.get(dev, "none")
        c.check(table.get(dev) == want, f"{dev}: device table shows scheduler {want} ({table.get(dev)})")


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--qd", type=int, default=16)
    p.add_argument("--secs", type=int, default=5)
    p.add_argument("--throttle-iops", type=int, default=0)
    p.add_argument("--no-indirect", action="store_true",
                   help="virtio-blk without INDIRECT_DESC: a full ring answers Busy, blk-mq restarts on completion")
    p.add_argument("--scheduler", default="", help="blk.scheduler value; adds writes checked by cmp")
    a = p.parse_args()
    throttle = f",throttling.iops-total={a.throttle_iops}" if a.throttle_iops else ""
    c = scenario.Checks(f"blk_verify smp={a.smp} qd={a.qd}" + (f" scheduler={a.scheduler}" if a.scheduler else ""))
    seed, seed2 = 0x5EED0000 + a.smp, 0x5EED1000 + a.smp
    wanted = dict(entry.split(":") for entry in a.scheduler.split(",")) if a.scheduler else {}
    with storage.tempdir() as tmp:
        nvme, virtio = storage.make_images(tmp, seed)
        images = {"nvme0n1": nvme, "vda": virtio}
        expected = storage.expect_writes(images, tmp)
        options = f" blk.scheduler={a.scheduler}" if wanted else ""
        r = scenario.boot(a, f"ktest=blk_device,blk_verify blk.seed={seed} blk.qd={a.qd} blk.secs={a.secs}{options}",
                          drives=storage.drives(nvme, virtio, a.smp, nvme_options=throttle,
                                                virtio_device_options=",indirect_desc=off" if a.no_indirect else ""), echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l or "virtio" in l
                        or "block" in l))
        storage.check_ktests(c, r)
        check_schedulers(c, r, wanted, images)
        for dev in images:
            want = wanted.get(dev, "none")
            c.check(re.search(rf"{dev}: verified [1-9]\d* reads, .* scheduler {want}$", r.output, re.M) is not None,
                    f"{dev}: reads verified through {want}")
        for dev in images:
            m = re.search(rf"{dev}: verified \d+ reads, .* x depth (\d+) \(device (\d+)\)", r.output)
            if c.check(m is not None, f"{dev}: depth line printed"):
                depth, device_depth = int(m.group(1)), int(m.group(2))
                c.check(depth == min(a.qd, device_depth), f"{dev}: depth {depth} per thread (asked {a.qd}, "
                        f"device {device_depth})")
            peaks = [int(n) for n in re.findall(rf"{dev}: cpu \d+ thread verified \d+ reads, peak (\d+) tags", r.output)]
            if m and a.throttle_iops and dev == "nvme0n1":
                # Throttled, every queue fills up to (nearly: some complete
                # while a busy host's vCPU is still submitting) the depth.
                want = depth * 3 // 4
                c.check(len(peaks) == a.smp and min(peaks) >= want,
                        f"{dev}: at least {want} of {depth} tags in use at once on every CPU's queue (peaks {peaks})")
        if a.no_indirect:
            # Direct chains of up to 10 descriptors fill a 256-entry ring
            # long before 256 tags are used: Busy, then restart on completion.
            m = re.search(r"vda: driver answered Busy (\d+) times", r.output)
            c.check(m is not None and int(m.group(1)) > 0,
                    f"vda: full ring answered Busy ({m.group(1) if m else None} times) and every read completed")
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
        if wanted:
            # A second boot with the same schedulers: writes + flush, then cmp on the host.
            w = scenario.boot(a, f"ktest=blk_write blk.seed2={seed2} blk.ranges=8{options}",
                              drives=storage.drives(nvme, virtio, a.smp), echo=False)
            print("\n".join(l for l in w.output.splitlines() if "ktest" in l))
            storage.check_ktests(c, w)
            check_schedulers(c, w, wanted, images)
            c.check(all(re.search(rf"{dev}: wrote \d+ ranges and flushed through {want}$", w.output, re.M)
                        for dev, want in wanted.items()), f"writes and flush went through {wanted}")
            storage.check_writes(c, w, images, expected, seed2)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
