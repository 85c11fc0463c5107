/* Kernel thread context switch (System V AMD64 ABI).
 *
 * Only the callee-saved registers (rbx, rbp, r12-r15) and the stack pointer
 * need saving: the switch is an ordinary function call, so the compiler has
 * already saved everything else the caller still needs. RFLAGS.IF is handled
 * by the scheduler in C++ (interrupts are off across the switch).
 *
 * A switched-out thread's stack holds, from its saved stack pointer up:
 *     r15 r14 r13 r12 rbx rbp <return address>
 * Thread::create builds the same frame for a new thread, with the return
 * address pointing at sched_thread_trampoline and r12 holding the Thread*.
 */

	.text

/* void sched_switch_context(u64* save_sp, u64 load_sp) */
	.globl sched_switch_context
	.type sched_switch_context, @function
sched_switch_context:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size sched_switch_context, . - sched_switch_context

/* First code a new thread runs: "returned to" by sched_switch_context. The
 * stack pointer is 16-byte aligned here (Thread::create arranges it), as a
 * call site needs; rbp is 0 so that backtraces stop at this frame. */
	.globl sched_thread_trampoline
	.type sched_thread_trampoline, @function
sched_thread_trampoline:
	movq %r12, %rdi
	call sched_thread_start
	ud2
	.size sched_thread_trampoline, . - sched_thread_trampoline

	.section .note.GNU-stack, "", @progbits
