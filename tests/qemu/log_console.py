#!/usr/bin/env python3
"""log=ttyS1: the kernel log (banner, ktest lines, power-off) arrives on the
second serial port, and the first carries only what was written to
/dev/console (ktest log.dev_console_writes_the_first_console), with no log
line in it. Also the log suite's own checks: long lines reach the console
whole with their newline."""
import re
import sys

import scenario


def main():
    a = scenario.arguments(__doc__).parse_args()
    c = scenario.Checks(f"log console smp={a.smp}")
    r = scenario.boot(a, f"ktest=log log=ttyS1 smp={a.smp}", serial_ports=2)
    c.check(not r.timed_out, "guest finished before the timeout")
    c.check(re.search(r"^Sluice \S+ x86_64 ", r.output, re.M) is not None, "banner on ttyS1")
    c.check("command line: ktest=log log=ttyS1" in r.output, "early lines replayed on ttyS1")
    m = re.search(r"^ktest: (\d+) passed, (\d+) failed$", r.output, re.M)
    c.check(m is not None and int(m.group(1)) >= 4 and int(m.group(2)) == 0,
            f"log ktests passed ({m.group(0) if m else 'no summary'})")
    # The firmware and GRUB write to ttyS0 before the kernel runs; from the
    # kernel there must be the /dev/console write and nothing else.
    tty0 = r.ports.get(0, b"")
    marker = b"console: written through /dev/console\r\n"
    c.check(tty0.endswith(marker) and tty0.count(b"console: written") == 1,
            f"ttyS0 ends with the one /dev/console write ({tty0[-60:]!r})")
    c.check(re.search(rb"\[\s*\d+\.\d{6}\] [EWID] ", tty0) is None and b"ktest:" not in tty0,
            "no kernel log line on ttyS0")
    c.check(r.status == 0, f"QEMU exit status says passed (status {r.status})")
    c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
