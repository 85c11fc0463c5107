#!/usr/bin/env python3
"""virtio-blk behaviour checked from the host. Two disks: vda read-write with
one queue more than CPUs (the extra one is the benchmark's reserved raw
queue), vdb read-only (readonly=on, one queue per CPU: the raw loop borrows
one). The guest runs ktest=virtio_blk; the host then checks that vdb refused
writes with EROFS and its image is unchanged (md5), that the negotiated
features are the offered ones this driver implements and nothing else, one
request queue per CPU with queue i's vector on CPU i (boot log and per-CPU
interrupt counters), and the power-off flush and reset."""
import hashlib
import pathlib
import re
import sys

import blk_image
import scenario
import storage

# Feature bits the driver implements (drivers/virtio/blk/Command.cpp).
IMPLEMENTED = {"SIZE_MAX": 1, "SEG_MAX": 2, "RO": 5, "BLK_SIZE": 6, "FLUSH": 9, "TOPOLOGY": 10, "MQ": 12,
               "INDIRECT_DESC": 28, "EVENT_IDX": 29, "VERSION_1": 32}
IMPLEMENTED_MASK = sum(1 << b for b in IMPLEMENTED.values())
RW_BYTES = 8 << 20
RO_BYTES = 4 << 20


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"virtio_blk smp={a.smp}")
    seed, ro_seed = 0x5151 + a.smp, 0x7070 + a.smp
    with storage.tempdir() as tmp:
        rw, ro = pathlib.Path(tmp) / "rw.img", pathlib.Path(tmp) / "ro.img"
        blk_image.write_image(rw, RW_BYTES, seed)
        blk_image.write_image(ro, RO_BYTES, ro_seed)
        before = {rw: md5(rw), ro: md5(ro)}
        drives = [
            ["-drive", f"file={rw},if=none,id=vd0,format=raw,cache=writeback",
             "-device", f"virtio-blk-pci,drive=vd0,num-queues={a.smp + 1}"],
            ["-drive", f"file={ro},if=none,id=vd1,format=raw,readonly=on",
             "-device", f"virtio-blk-pci,drive=vd1,num-queues={a.smp}"],
        ]
        r = scenario.boot(a, f"ktest=virtio_blk virtio_blk.ro_seed={ro_seed} ktest.scratch_disks", drives=drives, echo=False)
        out = r.output
        print("\n".join(l for l in out.splitlines() if "virtio" in l))
        storage.check_ktests(c, r)

        # Read-only disk: writes refused in the guest, image untouched on the host.
        c.check("ktest: virtio_blk: vdb is read-only: writes refused with EROFS" in out, "vdb refused writes (EROFS)")
        c.check(md5(ro) == before[ro], "read-only image unchanged (md5)")
        c.check(md5(rw) == before[rw], "read-write image restored by the tests (md5)")

        for disk, expect_ro in (("vda", False), ("vdb", True)):
            m = re.search(rf"virtio-blk: {disk}: features offered 0x([0-9a-f]+), negotiated 0x([0-9a-f]+): (.*)$",
                          out, re.M)
            if not c.check(m is not None, f"{disk}: feature line printed"):
                continue
            offered, negotiated, names = int(m.group(1), 16), int(m.group(2), 16), m.group(3).split()
            c.check(negotiated == offered & IMPLEMENTED_MASK,
                    f"{disk}: negotiated 0x{negotiated:x} = offered & implemented (0x{offered & IMPLEMENTED_MASK:x})")
            c.check(set(names) <= set(IMPLEMENTED), f"{disk}: only implemented features named ({' '.join(names)})")
            c.check(all(n in names for n in ("VERSION_1", "MQ", "INDIRECT_DESC", "EVENT_IDX", "FLUSH")),
                    f"{disk}: MQ, INDIRECT_DESC, EVENT_IDX, FLUSH negotiated")
            c.check(("RO" in names) == expect_ro, f"{disk}: RO {'negotiated' if expect_ro else 'absent'}")

            offers = a.smp + (0 if expect_ro else 1)
            q = re.search(rf"virtio-blk: {disk}: (\d+) request queues \(device offers (\d+)\), .* segments (.*)$",
                          out, re.M)
            if c.check(q is not None, f"{disk}: queue line printed"):
                c.check(int(q.group(1)) == a.smp and int(q.group(2)) == offers,
                        f"{disk}: {q.group(1)} request queues for {a.smp} CPUs (device offers {q.group(2)})")
                c.check("2147483648" not in q.group(3), f"{disk}: segment limit printed sensibly ({q.group(3)})")
            queues = re.findall(rf"virtio-blk: {disk}: queue (\d+) -> MSI-X entry (\d+), cpu (\d+) vector 0x([0-9a-f]+)",
                                out)
            c.check(sorted(int(cpu) for _, _, cpu, _ in queues) == list(range(a.smp))
                    and all(qi == cpu and int(entry) == int(qi) + 1 for qi, entry, cpu, _ in queues),
                    f"{disk}: queue i -> MSI-X entry i+1 on cpu i ({len(queues)} queues)")
            reserved = f"virtio-blk: {disk}: queue {a.smp} reserved for the raw benchmark loop" in out
            c.check(reserved == (not expect_ro), f"{disk}: raw queue {'reserved' if reserved else 'borrowed'}")
            index = 0 if disk == "vda" else 1
            fired = re.findall(rf"ktest: virtio_blk: virtio{index}-req\.(\d+) fired \d+ times on cpu (\d+)", out)
            c.check(sorted(int(q) for q, _ in fired) == list(range(a.smp)) and all(q == cpu for q, cpu in fired),
                    f"{disk}: every queue's vector fired, each on its own CPU")
            shutdown = "write cache flushed, device reset" if not expect_ro else "read-only, no flush, device reset"
            c.check(f"virtio-blk: {disk}: shutdown: {shutdown}" in out, f"{disk}: power-off: {shutdown}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
