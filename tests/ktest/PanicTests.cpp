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
