#!/usr/bin/env python3
"""Request timeouts for real: the NVMe drive is throttled by QEMU to a few
I/Os per second and Sluice boots with nvme.timeout_ms=300, so reads stay in
the device past their deadline. The tag set's timeout timer must find them
(no thread is waiting on a timeout), the driver aborts and then resets the
controller and requeues. As soon as the console says the controller is being
reset, the host lifts the throttle over QMP (block_set_io_throttle), so the
requeued reads complete (QEMU completes what it had fetched while resetting;
nvme.drop_cqe=2 makes the driver lose one completion, so at least one read is
still in the ring and goes through requeue): every byte is checked against the image, nothing
hangs, and tags, pages and heap return to their start (ktest blk_timeout)."""
import json
import re
import pathlib
import socket
import sys
import time

import blk_image
import scenario

TIMEOUT_MS = 300
IOPS = 4


class Qmp:
    def __init__(self, path):
        self.path = path
        self.sent = False
        self.reply = None

    def _command(self, sock, reader, command):
        sock.sendall((json.dumps(command) + "\n").encode())
        while True:
            message = json.loads(reader.readline())
            if "return" in message or "error" in message:
                return message

    def lift_throttle(self):
        if self.sent:
            return
        self.sent = True
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.path))
            reader = sock.makefile("r")
            json.loads(reader.readline())  # greeting
            self._command(sock, reader, {"execute": "qmp_capabilities"})
            args = {"device": "nvme0drive"}
            for key in ("bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"):
                args[key] = 0  # all zero: no limits
            self.reply = self._command(sock, reader, {"execute": "block_set_io_throttle", "arguments": args})
        print(f"host: lifted the throttle at {time.strftime('%X')}: {self.reply}", flush=True)


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--fail-reset", action="store_true",
                   help="nvme.fail_reset: the reset fails, the controller is dead, every read ends with EIO")
    p.add_argument("--virtio", action="store_true",
                   help="virtio-blk: the ring stalls (virtio_blk.stall_after), the driver must reset the device")
    a = p.parse_args()
    if a.fail_reset:
        return dead_controller(a)
    if a.virtio:
        return virtio_stall(a)
    c = scenario.Checks(f"blk_timeout smp={a.smp}")
    seed = 0x71E0
    with scenario_tempdir() as tmp:
        image = pathlib.Path(tmp) / "nvme.img"
        blk_image.write_image(image, 64 << 20, seed)
        qmp = Qmp(pathlib.Path(tmp) / "qmp.sock")
        drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback,"
                             f"throttling.iops-total={IOPS}",
                   "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=16"]]

        def on_line(line):
            if "resetting controller" in line:
                qmp.lift_throttle()

        # nvme.drop_cqe=2: the driver also "loses" the second completion, so at
        # least one request is still in the ring (not completed by the drain
        # QEMU does at reset) and must be requeued and issued again.
        r = scenario.boot(a, f"ktest=blk_timeout blk.dev=nvme0n1 blk.seed={seed} nvme.timeout_ms={TIMEOUT_MS} "
                             f"nvme.drop_cqe=2",
                          drives=drives, extra=["-qmp", f"unix:{qmp.path},server=on,wait=off"], on_line=on_line,
                          echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l or "block" in l))
        c.check(not r.timed_out, "guest finished before the timeout")
        c.check("ktest: 1 passed, 0 failed" in r.output, "ktest blk_timeout passed")
        c.check(r.status == 0, f"QEMU exit status says passed (status {r.status})")
        c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
        c.check("timed out" in r.output, "requests really timed out in the device")
        c.check("a timeout for an earlier issue of tag" in r.output,
                "a timeout for an earlier issue of a tag left the command in flight alone")
        c.check("resetting controller" in r.output and "reset failed" not in r.output,
                "the controller was reset and came back")
        c.check(qmp.reply is not None and "return" in qmp.reply, "host lifted the throttle over QMP")
        m = re.search(r"the reset requeued (\d+) requests from (\d+) queues", r.output)
        c.check(m is not None and int(m.group(1)) >= 1, f"in-flight requests requeued by the reset ({m and m.group(0)})")
    return c.finish()


def dead_controller(a):
    """The throttle stays on and the reset fails: nothing may hang."""
    c = scenario.Checks(f"blk_timeout smp={a.smp} dead controller")
    with scenario_tempdir() as tmp:
        image = pathlib.Path(tmp) / "nvme.img"
        blk_image.write_image(image, 64 << 20, 0x71E1)
        drives = [["-drive", f"file={image},if=none,id=nvme0drive,format=raw,cache=writeback,"
                             f"throttling.iops-total={IOPS}",
                   "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=16"]]
        r = scenario.boot(a, f"ktest=blk_dead_controller blk.dev=nvme0n1 nvme.timeout_ms={TIMEOUT_MS} "
                             f"nvme.fail_reset", drives=drives, echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "nvme" in l or "block" in l))
        c.check(not r.timed_out, "guest finished before the timeout")
        c.check("ktest: 1 passed, 0 failed" in r.output, "ktest blk_dead_controller passed")
        c.check(r.status == 0, f"QEMU exit status says passed (status {r.status})")
        c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
        c.check("reset failed (errno 110); controller dead" in r.output, "the reset failed and the controller died")
        m = re.search(r"(\d+) of (\d+) reads failed with EIO", r.output)
        c.check(m is not None and int(m.group(1)) > 0, f"in-flight reads ended with EIO ({m and m.group(0)})")
    return c.finish()


def virtio_stall(a):
    """virtio-blk: after a few completions the driver stops reaping the ring
    (virtio_blk.stall_after=3), as if it were broken, with a short
    virtio_blk.timeout_ms. Before the reset path existed the reads behind the
    stall never ended; now the timeout resets the device, requeues them, and
    they complete with the right data."""
    c = scenario.Checks(f"blk_timeout smp={a.smp} virtio-blk stalled ring")
    seed = 0x71E2
    with scenario_tempdir() as tmp:
        image = pathlib.Path(tmp) / "vd.img"
        blk_image.write_image(image, 64 << 20, seed)
        nvme = pathlib.Path(tmp) / "nvme.img"
        blk_image.write_image(nvme, 16 << 20, seed)
        drives = [["-drive", f"file={nvme},if=none,id=nvme0drive,format=raw,cache=writeback",
                   "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=16"],
                  ["-drive", f"file={image},if=none,id=vd0drive,format=raw,cache=writeback",
                   "-device", f"virtio-blk-pci,drive=vd0drive,num-queues={a.smp}"]]
        r = scenario.boot(a, f"ktest=virtio_blk_timeout blk.dev=vda blk.seed={seed} virtio_blk.timeout_ms={TIMEOUT_MS} "
                             f"virtio_blk.stall_after=3", drives=drives, echo=False)
        print("\n".join(l for l in r.output.splitlines() if "ktest" in l or "virtio" in l or "block" in l))
        c.check(not r.timed_out, "guest finished before the timeout")
        c.check("ktest: 1 passed, 0 failed" in r.output, "ktest virtio_blk_timeout passed")
        c.check(r.status == 0, f"QEMU exit status says passed (status {r.status})")
        c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
        c.check("ring stalled after 3 completions" in r.output, "the ring stalled as injected")
        c.check("vda: resetting device" in r.output and "reset failed" not in r.output,
                "the device was reset and came back")
        m = re.search(r"vda: reset: (\d+) requests had completed, (\d+) requeued", r.output)
        c.check(m is not None and int(m.group(1)) + int(m.group(2)) >= 1,
                f"requests in flight ended or were requeued by the reset ({m and m.group(0)})")
    return c.finish()


def scenario_tempdir():
    import tempfile
    return tempfile.TemporaryDirectory(prefix="sluice-timeout-")


if __name__ == "__main__":
    sys.exit(main())
