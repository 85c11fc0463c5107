/*
 * The instructions that touch user memory (UserCopy.h). Each faulting
 * instruction has an .extable entry (ExceptionTable.h): when the page fault
 * handler cannot resolve a fault at a user address there, it resumes at the
 * fixup, which leaves the routine with the "not done" result. STAC/CLAC
 * bracket the access (SMAP); on a CPU without SMAP they are skipped
 * (they would be #UD).
 */

.macro USER_ACCESS_BEGIN
	testb $1, cpu_has_smap(%rip)
	jz 98f
	stac
98:
.endm

.macro USER_ACCESS_END
	testb $1, cpu_has_smap(%rip)
	jz 99f
	clac
99:
.endm

.macro EXTABLE insn, fixup
	.pushsection .extable, "a"
	.balign 8
	.quad \insn, \fixup
	.popsection
.endm

	.text

/* usize user_copy_raw(void* dst, const void* src, usize n): bytes NOT copied.
 * REP MOVSB is restartable: at a fault RCX holds what was left. */
	.globl user_copy_raw
	.type user_copy_raw, @function
user_copy_raw:
	USER_ACCESS_BEGIN
	movq %rdx, %rcx
1:	rep movsb
2:	USER_ACCESS_END
	movq %rcx, %rax
	ret
	EXTABLE 1b, 2b
	.size user_copy_raw, . - user_copy_raw

/* usize user_clear_raw(void* dst, usize n): bytes NOT cleared. */
	.globl user_clear_raw
	.type user_clear_raw, @function
user_clear_raw:
	USER_ACCESS_BEGIN
	movq %rsi, %rcx
	xorl %eax, %eax
1:	rep stosb
2:	USER_ACCESS_END
	movq %rcx, %rax
	ret
	EXTABLE 1b, 2b
	.size user_clear_raw, . - user_clear_raw

/* i64 user_strncpy_raw(char* dst, const char* src, usize n): the length
 * before the first NUL (which is copied too) if it lies within n bytes, n if
 * there is none, -1 on a fault. */
	.globl user_strncpy_raw
	.type user_strncpy_raw, @function
user_strncpy_raw:
	USER_ACCESS_BEGIN
	xorl %eax, %eax
1:	cmpq %rdx, %rax
	jae 3f
2:	movb (%rsi,%rax), %cl
	movb %cl, (%rdi,%rax)
	testb %cl, %cl
	jz 3f
	incq %rax
	jmp 1b
3:	USER_ACCESS_END
	ret
4:	USER_ACCESS_END
	movq $-1, %rax
	ret
	EXTABLE 2b, 4b
	.size user_strncpy_raw, . - user_strncpy_raw

/* int user_cmpxchg32_raw(u32* uaddr, u32 expected, u32 desired, u32* previous):
 * 0 and *previous = the value found (the exchange happened iff it equals
 * expected), or -1 on a fault. LOCK CMPXCHG, for futex WAKE_OP. */
	.globl user_cmpxchg32_raw
	.type user_cmpxchg32_raw, @function
user_cmpxchg32_raw:
	USER_ACCESS_BEGIN
	movl %esi, %eax
1:	lock cmpxchgl %edx, (%rdi)
	USER_ACCESS_END
	movl %eax, (%rcx)
	xorl %eax, %eax
	ret
2:	USER_ACCESS_END
	movl $-1, %eax
	ret
	EXTABLE 1b, 2b
	.size user_cmpxchg32_raw, . - user_cmpxchg32_raw

	.section .note.GNU-stack, "", @progbits
