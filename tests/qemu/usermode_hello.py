#!/usr/bin/env python3
"""The first user programs: a static musl hello world (ET_EXEC) and the same
program as a static-pie (ET_DYN), each run as PID 1 with init=, print their
line with argv from after "--" on the command line, and exit with status 3,
which the kernel logs before powering off."""
import pathlib
import re
import sys
import tempfile

import scenario
import userprog


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"usermode_hello smp={a.smp}")
    with tempfile.TemporaryDirectory(prefix="sluice-user-") as tmp:
        root = pathlib.Path(tmp) / "root"
        root.mkdir()
        userprog.build("hello.c", root / "hello", "static")
        userprog.build("hello.c", root / "hello-pie", "static-pie")
        archive = userprog.pack(root, pathlib.Path(tmp) / "initramfs.cpio")
        for name in ("hello", "hello-pie"):
            r = scenario.boot(a, f"init=/{name} -- one two=2", modules=[("initramfs", str(archive))], echo=False)
            c.check(r.status == 0, f"{name}: powered off cleanly (status {r.status})")
            lines = r.output.splitlines()
            c.check(f"hello from /{name}, argc=3 [one] [two=2]" in lines, f"{name}: printed its line with argv")
            c.check(re.search(rf"proc: init \(pid 1, {re.escape(name)}\) exited with status 3$", r.output, re.M)
                    is not None, f"{name}: exit status 3 logged")
            c.check("EXCEPTION" not in r.output and "panic" not in r.output.lower(), f"{name}: no kernel fault")
            c.check(re.search(r"SMEP on, SMAP on", r.output) is not None, f"{name}: SMEP and SMAP on")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
