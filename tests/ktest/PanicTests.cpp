// ktest suite "panic": deliberately crash, so that tests/qemu can check the
// exception report (registers, CR2, a backtrace naming the faulting function).
// Not part of `ktest=all`: select it explicitly with `ktest=panic`.
#include "tests/ktest/Ktest.h"

// Nothing is mapped here: the direct map ends far below, the MMIO window
// starts far above.
constexpr u64 UNMAPPED_KERNEL_ADDRESS = 0xffffa00000000000ul;

[[gnu::noinline]] void ktest_panic_fault_in_named_function(u64 address)
{
    *reinterpret_cast<volatile u64*>(address) = 0x5a5a5a5a;
    // Keep the frame (and this function in the backtrace): no tail position store.
    asm volatile("" : : : "memory");
}

KTEST(panic, page_fault_in_named_function)
{
    ktest_panic_fault_in_named_function(UNMAPPED_KERNEL_ADDRESS);
    KEXPECT(false); // not reached
}

// ktest suite "panic_double_fault" (also only when named): a page fault whose
// exception frame cannot be pushed because the stack is unmapped escalates to
// a double fault (SDM Vol. 3A §6.15, interrupt 8), which must still report
// from its own IST stack.
[[gnu::noinline]] void ktest_panic_double_fault_with_unmapped_stack(u64 stack)
{
    asm volatile("movq %0, %%rsp\n\t"
                 "pushq $0"
                 :
                 : "r"(stack)
                 : "memory");
}

KTEST(panic_double_fault, unmapped_stack)
{
    ktest_panic_double_fault_with_unmapped_stack(UNMAPPED_KERNEL_ADDRESS + PAGE_SIZE);
    KEXPECT(false); // not reached
}

// ktest suite "panic_stack_overflow" (only when named): unbounded recursion
// runs off the bottom of this thread's kernel stack into its guard page. The
// fault escalates to a double fault, whose report must say "kernel stack
// overflow" (tests/qemu/panic.py).
// The limit is never reached (it is read through a volatile): the compiler
// cannot prove the recursion endless, nor turn it into a loop.
volatile u64 g_recursion_limit = ~0ul;

[[gnu::noinline]] u64 ktest_panic_recurse_without_end(u64 depth)
{
    volatile u8 frame[256];
    frame[0] = static_cast<u8>(depth);
    if (depth >= g_recursion_limit)
        return frame[0];
    const u64 below = ktest_panic_recurse_without_end(depth + 1);
    return below + frame[0]; // used after the call: no tail call
}

KTEST(panic_stack_overflow, unbounded_recursion)
{
    ktest_panic_recurse_without_end(0);
    KEXPECT(false); // not reached
}
