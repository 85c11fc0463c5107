#!/usr/bin/env python3
"""One compat test: run a static program on the host (Linux) and in Sluice
(tools/exec), and require the same stdout, byte for byte, and the same exit
status. stderr is shown, not compared.

  compat.py --build-dir B --program PROG [--timeout S] [--smp N] [--ext2 MIB] [-- ARGS...]

Both runs see the same argv (argv[0] = /bin/<name>, the guest path), the same
environment (Sluice init's: HOME=/, PATH, TERM=vt100) and /dev/null as stdin;
the working directory is an empty scratch directory (host: a fresh temporary
directory, Sluice: /tmp, or with --ext2 the root of a fresh ext2 image of
that many MiB attached as NVMe and mounted at /mnt, which `e2fsck -fn` must
find clean after the run). A program must not print what legitimately differs
between two machines (pids, times, addresses, the cwd's path).
"""
import argparse
import difflib
import os
import pathlib
import signal
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENVIRONMENT = {"HOME": "/", "PATH": "/sbin:/usr/sbin:/bin:/usr/bin", "TERM": "vt100"}


def status_of(returncode):
    return 128 - returncode if returncode < 0 else returncode


def describe(status):
    if status > 128 and status - 128 < signal.NSIG:
        return f"{status} (killed by {signal.Signals(status - 128).name})"
    return str(status)


def show(title, data):
    text = data.decode(errors="replace")
    print(f"--- {title} ({len(data)} bytes) ---")
    print(text if len(text) < 4000 else text[:4000] + "\n[...]")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--program", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--ext2", type=int, help="work on a fresh ext2 image of this many MiB (Sluice side)")
    p.add_argument("args", nargs="*")
    a = p.parse_args()
    program = pathlib.Path(a.program).resolve()
    guest_path = f"/bin/{program.name}"

    with tempfile.TemporaryDirectory(prefix="sluice-compat-") as scratch:
        host = subprocess.run([guest_path] + a.args, executable=str(program), cwd=scratch, env=ENVIRONMENT,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=a.timeout)
    host_status = status_of(host.returncode)

    with tempfile.TemporaryDirectory(prefix="sluice-compat-") as work:
        log = pathlib.Path(work) / "kernel.log"
        disk = []
        cwd = "/tmp"
        image = pathlib.Path(work) / "ext2.img"
        if a.ext2:
            subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", str(image), f"{a.ext2}M"], check=True)
            disk = ["--nvme", str(image), "--mount", "nvme0n1:/mnt"]
            cwd = "/mnt"
        sluice = subprocess.run([str(ROOT / "tools/exec"), "--build-dir", a.build_dir, "--smp", str(a.smp)] + disk +
                                ["--cwd", cwd, "--timeout", str(a.timeout), "--log", str(log), "--",
                                 str(program)] + a.args, stdin=subprocess.DEVNULL, capture_output=True)
        kernel_log = log.read_bytes() if log.exists() else b""
        fsck = None
        if a.ext2:
            fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    sluice_status = sluice.returncode

    same_output = host.stdout == sluice.stdout
    same_status = host_status == sluice_status
    print(f"{program.name}: stdout {'identical' if same_output else 'DIFFERS'} ({len(host.stdout)} bytes on Linux, "
          f"{len(sluice.stdout)} on Sluice); exit status Linux {describe(host_status)}, "
          f"Sluice {describe(sluice_status)}")
    fsck_clean = fsck is None or fsck.returncode == 0
    if fsck is not None:
        print(f"e2fsck -fn after the run: {'clean' if fsck_clean else 'ERRORS (exit %d)' % fsck.returncode}")
        if not fsck_clean:
            print(fsck.stdout[-3000:])
    if same_output and same_status and fsck_clean:
        return 0
    if not same_output:
        diff = difflib.unified_diff(host.stdout.decode(errors="replace").splitlines(keepends=True),
                                    sluice.stdout.decode(errors="replace").splitlines(keepends=True),
                                    "Linux", "Sluice")
        sys.stdout.writelines(diff)
        print()
    show("stderr on Linux", host.stderr)
    show("stderr on Sluice", sluice.stderr)
    show("kernel log, last lines", b"\n".join(kernel_log.splitlines()[-40:]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
