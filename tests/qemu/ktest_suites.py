#!/usr/bin/env python3
"""Boot with ktest=<selection> smp=N and require every in-kernel test to pass."""
import re
import sys

import scenario


def main():
    p = scenario.arguments(__doc__)
    p.add_argument("--select", default="all")
    a = p.parse_args()
    c = scenario.Checks(f"ktest {a.select} smp={a.smp}")
    r = scenario.boot(a, f"ktest={a.select} smp={a.smp}", echo=True)
    m = re.search(r"^ktest: (\d+) passed, (\d+) failed$", r.output, re.M)
    c.check(not r.timed_out, "guest finished before the timeout")
    c.check(m is not None, "ktest summary line printed")
    if m:
        c.check(int(m.group(1)) > 0, f"{m.group(1)} tests passed")
        c.check(int(m.group(2)) == 0, f"{m.group(2)} tests failed")
    c.check(r.status == 0, f"QEMU exit status says passed (status {r.status}, qemu {r.qemu_status})")
    c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
