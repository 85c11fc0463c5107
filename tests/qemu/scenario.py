"""Shared helpers for QEMU scenarios: boot, check the console, report.

A scenario is a script that exits 0 when every check passed and 1 otherwise,
printing one line per check. Any panic in the console is symbolized with
tools/symbolize before it is shown.
"""
import argparse
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
        print(f"{self.name}: {'passed' if self.failed == 0 else f'{self.failed} check(s) failed'}")
        return 0 if self.failed == 0 else 1


def arguments(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--mem", default="512M")
    p.add_argument("--timeout", type=float, default=240)
    return p


def boot(args, cmdline, **kwargs):
    kwargs.setdefault("tcg_thread", "single")  # see sluice_qemu.run
    r = sluice_qemu.run(args.build_dir, cmdline, smp=args.smp, mem=kwargs.pop("mem", args.mem),
                        timeout=kwargs.pop("timeout", args.timeout), **kwargs)
    if "Kernel panic" in r.output or "EXCEPTION" in r.output:
        print("--- console, symbolized ---")
        print(sluice_qemu.symbolize(args.build_dir, r.output))
    return r
