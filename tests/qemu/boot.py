#!/usr/bin/env python3
"""Boot with smp=N and no workload: banner, every CPU online, scheduler
running, boot time printed, and ACPI power-off ends QEMU by itself."""
import re
import sys

import scenario


def main():
    a = scenario.arguments(__doc__).parse_args()
    c = scenario.Checks(f"boot smp={a.smp}")
    r = scenario.boot(a, f"smp={a.smp}")
    c.check(re.search(r"^Sluice \S+ x86_64 ", r.output, re.M) is not None, "banner printed")
    m = re.search(r"smp: (\d+) of (\d+) CPUs online", r.output)
    c.check(m is not None and int(m.group(1)) == a.smp and int(m.group(2)) == a.smp,
            f"all {a.smp} CPUs online ({m.group(0) if m else 'no smp line'})")
    m = re.search(r"boot: Sluice \S+: (\d+) CPUs online, (\d+) MiB memory \((\d+) MiB free\)", r.output)
    c.check(m is not None and int(m.group(1)) == a.smp and int(m.group(2)) > 0,
            "banner summary: CPUs online and memory")
    c.check("command line: smp=" in r.output, "command line printed")
    m = re.search(r"boot: kernel entry to scheduler running on (\d+) CPUs: (\d+) us", r.output)
    c.check(m is not None and int(m.group(1)) == a.smp, "boot time to all CPUs + scheduler printed")
    c.check(not r.timed_out and r.qemu_status == 0 and "power: powering off" in r.output,
            "ACPI power-off ended QEMU")
    c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
