/*
 * Entry from ring 3 by SYSCALL, and every return to ring 3.
 *
 * SYSCALL (Intel SDM Vol. 2B) leaves the user RIP in RCX and RFLAGS in R11,
 * loads CS/SS from STAR and clears the RFLAGS bits in SFMASK (IF TF DF AC
 * NT, arch/x86_64/user/UserEntry.cpp) but does not switch stacks: the entry
 * swaps to the kernel GS base, parks the user RSP in the per-CPU scratch
 * slot and moves to the thread's kernel stack, where it builds a UserFrame
 * (arch/x86_64/user/UserFrame.h) identical to what an interrupt from ring 3
 * would have pushed there.
 *
 * Leaving: SYSRET when the frame allows it (user_syscall_entry says so:
 * RCX = RIP, R11 = RFLAGS, RIP canonical: SYSRET with a non-canonical RCX
 * takes #GP in ring 0 on the user stack on Intel CPUs), IRETQ otherwise.
 * Interrupts are off from the moment the frame is final until the CPU is
 * back in ring 3; an NMI in that window runs the paranoid entry, which looks
 * at the GS base MSR itself.
 */

#define PERCPU_KERNEL_STACK_TOP 80
#define PERCPU_USER_RSP_SCRATCH 88
#define USER_DATA_SELECTOR 0x23
#define USER_CODE_SELECTOR 0x2b
#define SYSCALL_VECTOR 256

	.text

	.globl syscall_entry
	.type syscall_entry, @function
	.balign 16
syscall_entry:
	swapgs
	movq %rsp, %gs:PERCPU_USER_RSP_SCRATCH
	movq %gs:PERCPU_KERNEL_STACK_TOP, %rsp
	pushq $USER_DATA_SELECTOR
	pushq %gs:PERCPU_USER_RSP_SCRATCH
	pushq %r11			/* rflags */
	pushq $USER_CODE_SELECTOR
	pushq %rcx			/* rip */
	pushq %rax			/* error_code slot: the syscall number (orig_rax) */
	pushq $SYSCALL_VECTOR
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	/* SFMASK cleared AC already; clac anyway, as every entry does. */
	testb $1, cpu_has_smap(%rip)
	jz 1f
	clac
1:	xorl %ebp, %ebp			/* backtraces stop at the user boundary */
	movq %rsp, %rdi
	call user_syscall_entry		/* returns with interrupts off */
	testb %al, %al
	jz user_return_iret
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector, error code */
	popq %rcx			/* rip */
	addq $8, %rsp			/* cs */
	popq %r11			/* rflags */
	popq %rsp			/* the user stack: nothing may touch the kernel stack now */
	swapgs
	sysretq
	.size syscall_entry, . - syscall_entry

/*
 * Return to ring 3 through IRETQ from a complete UserFrame at %rsp
 * (interrupts off, kernel GS). If IRETQ itself faults (a frame with a
 * non-canonical RIP), the fault is taken in ring 0 after the SWAPGS: the
 * interrupt entry recognises user_iret_instruction and swaps back
 * (arch/x86_64/interrupts/Entry.S), and the fault becomes the thread's.
 */
	.globl user_return_iret
	.type user_return_iret, @function
user_return_iret:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	swapgs
	.globl user_iret_instruction
user_iret_instruction:
	iretq
	.size user_return_iret, . - user_return_iret

/* void user_enter_frame(UserFrame* frame): leave the kernel for good
 * through `frame` (at the top of this thread's kernel stack). */
	.globl user_enter_frame
	.type user_enter_frame, @function
user_enter_frame:
	cli
	movq %rdi, %rsp
	jmp user_return_iret
	.size user_enter_frame, . - user_enter_frame

	.section .note.GNU-stack, "", @progbits
