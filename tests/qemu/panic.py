#!/usr/bin/env python3
"""ktest=panic: a deliberate page fault must print the registers, CR2 and error
code, and a backtrace naming the faulting function, then end the run as failed.
ktest=panic_stack_overflow: endless recursion runs into the guard page below
the thread's kernel stack; the double fault that follows must report a kernel
stack overflow naming the thread and the stack."""
import re
import sys

import scenario

FAULTING_FUNCTION = "ktest_panic_fault_in_named_function"


def main():
    a = scenario.arguments(__doc__).parse_args()
    c = scenario.Checks("panic")
    r = scenario.boot(a, "ktest=panic", echo=True)
    out = r.output
    c.check(not r.timed_out, "guest ended by itself")
    c.check(r.status == 1, f"QEMU exit status says failed (status {r.status})")
    c.check(re.search(r"EXCEPTION .*Page fault|EXCEPTION #PF|page fault", out, re.I) is not None,
            "page fault reported")
    for reg in ("RIP", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R15", "RFLAGS",
                "CR2"):
        c.check(re.search(rf"\b{reg}\b", out) is not None, f"{reg} printed")
    c.check(re.search(r"error code", out, re.I) is not None, "error code printed")
    bt = out[out.find("Backtrace"):] if "Backtrace" in out else ""
    c.check(FAULTING_FUNCTION in bt, "backtrace names the faulting function")
    sym = scenario.sluice_qemu.symbolize(a.build_dir, bt)
    c.check(re.search(rf"{FAULTING_FUNCTION}.*\[.*\.cpp:\d+", sym) is not None,
            "tools/symbolize adds the source line")

    r = scenario.boot(a, "ktest=panic_stack_overflow", echo=True)
    out = r.output
    c.check(not r.timed_out, "stack overflow: guest ended by itself")
    c.check(r.status == 1, f"stack overflow: QEMU exit status says failed (status {r.status})")
    c.check("EXCEPTION double-fault (#8)" in out, "stack overflow: reported from the double fault's IST stack")
    c.check(re.search(r"kernel stack overflow: \S+ ran off the bottom of its stack \[0x[0-9a-f]+, 0x[0-9a-f]+\) "
                      r"into the guard page", out) is not None, "stack overflow: 'kernel stack overflow' report")
    c.check("ktest_panic_recurse_without_end" in out[out.find("Backtrace"):], "stack overflow: backtrace names the recursion")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
