#!/usr/bin/env python3
"""Debug builds check the lock order and "sleeping while holding a spinlock":
breaking either rule on purpose must stop the kernel with a panic that names
the locks involved, a backtrace through the offending test, and a failed run."""
import re
import sys

import scenario

CASES = [
    ("panic_lock_order",
     r'lock order violation: taking "test driver lock" \(rank 1000\) while holding "test block lock" \(rank 1100\)',
     "ktest_panic_lock_order_lower_rank_taken_while_holding_higher"),
    ("panic_sleep_in_atomic",
     r'sleeping while holding a spinlock: .*"test held lock" held',
     "ktest_panic_sleep_in_atomic_sleep_while_holding_a_spinlock"),
]


def main():
    a = scenario.arguments(__doc__).parse_args()
    c = scenario.Checks("lock_debug")
    for suite, message, function in CASES:
        r = scenario.boot(a, f"ktest={suite}", echo=False)
        c.check(not r.timed_out and r.status == 1, f"{suite}: the run ends as failed (status {r.status})")
        c.check(re.search(message, r.output) is not None, f"{suite}: panic message names the locks")
        bt = r.output[r.output.find("Backtrace"):] if "Backtrace" in r.output else ""
        c.check(function in bt, f"{suite}: backtrace reaches {function}")
        c.check("ktest: ok" not in r.output, f"{suite}: the test did not run past the violation")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
