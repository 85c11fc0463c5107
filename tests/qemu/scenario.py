"""Shared helpers for QEMU scenarios: boot, check the console, report.

A scenario is a script that exits 0 when every check passed and 1 otherwise,
printing one line per check. Any panic in the console is symbolized with
tools/symbolize before it is shown.
"""
import argparse
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools/lib"))
import sluice_qemu  # noqa: E402


class Checks:
    def __init__(self, name):
        self.name = name
        self.failed = 0

    def check(self, ok, what):
        print(f"[{'PASS' if ok else 'FAIL'}] {self.name}: {what}", flush=True)
        if not ok:
            self.failed += 1
        return ok

    def finish(self):
        if self.failed and _last_console:
            # The checks print a filtered view; the whole console is what
            # explains a failure (and is all CI shows).
            path, text = _last_console
            print(f"--- last 60 console lines (whole console: {path}) ---")
            print("\n".join(text.splitlines()[-60:]))
        print(f"{self.name}: {'passed' if self.failed == 0 else f'{self.failed} check(s) failed'}")
        return 0 if self.failed == 0 else 1


_last_console = None


def _save_console(args, output):
    """Keep every boot's console in <build>/consoles/ for after-the-fact reading."""
    global _last_console
    directory = pathlib.Path(args.build_dir) / "consoles"
    directory.mkdir(exist_ok=True)
    path = directory / f"{pathlib.Path(sys.argv[0]).stem}.smp{args.smp}.{os.getpid()}.log"
    path.write_text(output)
    _last_console = (path, output)


def arguments(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--mem", default="512M")
    p.add_argument("--timeout", type=float, default=240)
    return p


def boot(args, cmdline, **kwargs):
    # Round-robin TCG (one host thread for every vCPU) keeps cross-CPU tests
    # fast and steady on a small host, but QEMU before 8.1 drops guest memory
    # barriers in that mode, while its device models (virtio, NVMe) run in
    # other host threads: a driver's "publish index, fence, read the device's
    # event index" can then miss a notification or an interrupt, and the
    # queue stalls (docs/Virtio.md, "TCG and memory barriers"). A guest with
    # disks therefore runs multi-threaded TCG, where fences are real.
    kwargs.setdefault("tcg_thread", "multi" if kwargs.get("drives") else "single")
    r = sluice_qemu.run(args.build_dir, cmdline, smp=args.smp, mem=kwargs.pop("mem", args.mem),
                        timeout=kwargs.pop("timeout", args.timeout), **kwargs)
    _save_console(args, r.output)
    if "Kernel panic" in r.output or "EXCEPTION" in r.output:
        print("--- console, symbolized ---")
        print(sluice_qemu.symbolize(args.build_dir, r.output))
    return r
