/*
 * Interrupt and exception entry: one small stub per vector that makes the
 * stack uniform (error code, vector) and jumps to a common path that saves
 * every general register as an InterruptFrame (interrupts/InterruptFrame.h)
 * and calls interrupt_dispatch(frame).
 *
 * GS: the kernel's GS base holds the per-CPU pointer. When the interrupted
 * code ran in ring 3 its GS base is the user's, so the entry swaps them
 * (SWAPGS, Intel SDM Vol. 2B). NMI, double fault and machine check can hit
 * anywhere, even between a kernel entry and its SWAPGS, so for those
 * ("paranoid") vectors the decision is taken from the GS base MSR itself:
 * kernel addresses are negative.
 */

#define FRAME_RIP_OFFSET (17 * 8)
#define FRAME_CS_OFFSET (18 * 8)
#define MSR_GS_BASE 0xc0000101

	.text

.macro SAVE_REGISTERS
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
.endm

.macro RESTORE_REGISTERS
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
.endm

/*
 * The common path for everything but the paranoid vectors. From ring 3 it
 * swaps GS; from ring 0 too when the interrupted instruction is the IRETQ
 * to ring 3 (user_iret_instruction, arch/x86_64/user/SyscallEntry.S), which
 * runs after its SWAPGS: a fault there must not run on the user's GS.
 * Every entry clears RFLAGS.AC (clac), so that user memory is reachable
 * from ring 0 only inside the user-copy routines (SMAP).
 */
interrupt_common:
	cld
	SAVE_REGISTERS
	testb $3, FRAME_CS_OFFSET(%rsp)
	jnz 1f
	leaq user_iret_instruction(%rip), %rax
	cmpq %rax, FRAME_RIP_OFFSET(%rsp)
	jne 2f
1:	swapgs
2:	testb $1, cpu_has_smap(%rip)
	jz 3f
	clac
3:	movq %rsp, %rdi
	call interrupt_dispatch
	testb $3, FRAME_CS_OFFSET(%rsp)
	jnz user_return_iret	/* interrupts are off: interrupt_dispatch returns so */
	RESTORE_REGISTERS
	addq $16, %rsp		/* vector and error code */
	iretq

/* NMI, #DF, #MC: %ebx (callee-saved) remembers whether we swapped. */
interrupt_paranoid:
	cld
	SAVE_REGISTERS
	xorl %ebx, %ebx
	movl $MSR_GS_BASE, %ecx
	rdmsr
	testl %edx, %edx
	js 1f			/* already the kernel's GS base */
	swapgs
	movl $1, %ebx
1:	testb $1, cpu_has_smap(%rip)
	jz 2f
	clac			/* IRETQ restores the interrupted AC */
2:	movq %rsp, %rdi
	call interrupt_dispatch
	testl %ebx, %ebx
	jz 3f
	swapgs
3:	RESTORE_REGISTERS
	addq $16, %rsp
	iretq

/*
 * Exceptions that push an error code (SDM Vol. 3A §6.15, Table 6-1):
 * #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
 */
.macro STUB vector
	.balign 16
interrupt_stub_\vector:
	.if (\vector == 8) || (\vector == 10) || (\vector == 11) || (\vector == 12) || (\vector == 13) || (\vector == 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	.else
	pushq $0
	.endif
	pushq $\vector
	.if (\vector == 2) || (\vector == 8) || (\vector == 18)
	jmp interrupt_paranoid
	.else
	jmp interrupt_common
	.endif
.endm

	.balign 16
	.globl interrupt_stubs_start
interrupt_stubs_start:
.altmacro
.set vec, 0
.rept 256
	STUB %vec
	.set vec, vec + 1
.endr

/* The address of each stub, for the IDT. */
	.section .rodata
	.balign 8
	.globl interrupt_stub_table
interrupt_stub_table:
.macro STUB_ADDRESS vector
	.quad interrupt_stub_\vector
.endm
.set vec, 0
.rept 256
	STUB_ADDRESS %vec
	.set vec, vec + 1
.endr

	.section .note.GNU-stack, "", @progbits
