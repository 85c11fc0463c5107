#!/usr/bin/env python3
"""User programs compared with Linux: each program in tests/qemu/user is
built static with musl, run on the host (Linux) and in Sluice as PID 1, and
the lines it prints that start with "T: " and its exit status (or the signal
that killed it, 128+N) must be the same. The kernel log goes to ttyS1
(log=ttyS1), so the console on ttyS0 carries only the program's output."""
import pathlib
import re
import subprocess
import sys
import tempfile

import scenario
import userprog

# program source -> arguments after "--"
PROGRAMS = {
    "forkexec.c": [],
    "hostile.c": [],
    "procinfo.c": [],
    "memory.c": [],
    "threads.c": [],
}


def host_run(binary, args):
    # In its own session, as PID 1 is in Sluice: pid == process group == session.
    r = subprocess.run(["setsid", str(binary), *args], capture_output=True, text=True, timeout=60)
    lines = [l for l in r.stdout.splitlines() if l.startswith("T: ")]
    status = r.returncode if r.returncode >= 0 else 128 - r.returncode
    return lines, status


def sluice_status(output):
    m = re.search(r"proc: init \(pid 1, [^)]*\) (exited with status (\d+)|killed by signal (\d+))", output)
    if not m:
        return None
    return int(m.group(2)) if m.group(2) is not None else 128 + int(m.group(3))


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--only", help="run only this program (source name)")
    a = p.parse_args()
    c = scenario.Checks(f"usermode_programs smp={a.smp}")
    with tempfile.TemporaryDirectory(prefix="sluice-user-") as tmp:
        root = pathlib.Path(tmp) / "root"
        root.mkdir()
        names = [a.only] if a.only else list(PROGRAMS)
        for source in names:
            userprog.build(source, root / pathlib.Path(source).stem, "static", extra=["-lpthread"])
        archive = userprog.pack(root, pathlib.Path(tmp) / "initramfs.cpio")
        for source in names:
            name = pathlib.Path(source).stem
            args = PROGRAMS[source]
            expected_lines, expected_status = host_run(root / name, args)
            # The kernel log on ttyS1, the program's console (ttyS0) alone.
            cmdline = f"log=ttyS1 init=/{name}" + (" -- " + " ".join(args) if args else "")
            r = scenario.boot(a, cmdline, modules=[("initramfs", str(archive))], echo=False, serial_ports=2)
            console = r.ports.get(0, b"").decode(errors="replace").replace("\r\n", "\n")
            got = [l for l in console.splitlines() if l.startswith("T: ")]
            c.check(r.status == 0, f"{name}: powered off cleanly (status {r.status})")
            ok = c.check(got == expected_lines, f"{name}: {len(expected_lines)} output lines as on Linux")
            if not ok:
                for want, have in zip(expected_lines + [""] * len(got), got + [""] * len(expected_lines)):
                    if want != have:
                        print(f"    linux : {want!r}\n    sluice: {have!r}")
            status = sluice_status(r.output)
            c.check(status == expected_status, f"{name}: exit status {status} (Linux {expected_status})")
            c.check("EXCEPTION" not in r.output and "Kernel panic" not in r.output, f"{name}: no kernel fault")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
