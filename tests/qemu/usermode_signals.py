#!/usr/bin/env python3
"""Signal and time programs of tests/compat (sig_*.c, time_*.c) compared
with Linux while tools/exec cannot run them yet: each is built static with
musl, run on the host (in its own session, as PID 1 is in Sluice) and in
Sluice as PID 1 with the kernel log on ttyS1, and its whole console output
(CRLF folded to LF) and exit status must be the same. The programs keep PID
1's special rules out of the picture: everything a default action would do
to the caller happens in a child."""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import scenario
import userprog

COMPAT = pathlib.Path(__file__).resolve().parents[1] / "compat"
ENVIRONMENT = {"HOME": "/", "PATH": "/sbin:/usr/sbin:/bin:/usr/bin", "TERM": "vt100"}


def programs():
    return sorted(p.name for p in COMPAT.glob("sig_*.c")) + sorted(p.name for p in COMPAT.glob("time_*.c"))


def host_run(binary, name):
    with tempfile.TemporaryDirectory(prefix="sluice-sig-") as cwd:
        r = subprocess.run(["setsid", "--wait", str(binary)], executable="setsid", cwd=cwd, env=ENVIRONMENT,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    status = r.returncode if r.returncode >= 0 else 128 - r.returncode
    return r.stdout.decode(errors="replace"), status


def sluice_status(output):
    m = re.search(r"proc: init \(pid 1, [^)]*\) (exited with status (\d+)|killed by signal (\d+))", output)
    if not m:
        return None
    return int(m.group(2)) if m.group(2) is not None else 128 + int(m.group(3))


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--only", help="run only this program (source name)")
    a = p.parse_args()
    c = scenario.Checks(f"usermode_signals smp={a.smp}")
    names = [a.only] if a.only else programs()
    with tempfile.TemporaryDirectory(prefix="sluice-sig-") as tmp:
        root = pathlib.Path(tmp) / "root"
        root.mkdir()
        for source in names:
            out = root / pathlib.Path(source).stem
            subprocess.run(["musl-gcc", "-static", "-O2", "-Wall", "-Werror", "-o", str(out), str(COMPAT / source),
                            "-lpthread"], check=True)
        archive = userprog.pack(root, pathlib.Path(tmp) / "initramfs.cpio")
        for source in names:
            name = pathlib.Path(source).stem
            expected, expected_status = host_run(root / name, name)
            r = scenario.boot(a, f"log=ttyS1 init=/{name}", modules=[("initramfs", str(archive))], echo=False,
                              serial_ports=2)
            console = r.ports.get(0, b"").decode(errors="replace").replace("\r\n", "\n")
            # The firmware and GRUB write to the console before the kernel does.
            marker = "Booting `Sluice'\n\n"
            if marker in console:
                console = console[console.rindex(marker) + len(marker):].lstrip("\r")
            c.check(r.status == 0, f"{name}: powered off cleanly (status {r.status})")
            ok = c.check(console == expected, f"{name}: output as on Linux ({len(expected)} bytes)")
            if not ok:
                import difflib
                sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), console.splitlines(True),
                                                           "Linux", "Sluice"))
                print("    kernel log:", "\n".join(r.ports.get(1, b"").decode(errors="replace").splitlines()[-25:]))
            status = sluice_status(r.output + r.ports.get(1, b"").decode(errors="replace"))
            c.check(status == expected_status, f"{name}: exit status {status} (Linux {expected_status})")
            c.check("EXCEPTION" not in r.output and "Kernel panic" not in r.output, f"{name}: no kernel fault")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
