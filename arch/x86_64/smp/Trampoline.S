/*
 * The application processor trampoline. Smp.cpp copies the bytes between
 * smp_trampoline_start and smp_trampoline_end to SMP_TRAMPOLINE_PHYS (below
 * 1 MiB, page aligned) and fills in the data block at its end; the STARTUP
 * IPI starts the AP in real mode at CS:IP = (vector << 8):0 (Intel SDM Vol. 3A
 * §9.4.4.1 and §11.6.1 "Start-Up").
 *
 * real mode -> protected mode (own flat GDT) -> PAE + EFER.LME (+NXE)
 * -> paging with a low copy of the kernel PML4 (which also holds the
 * identity map of this page) -> 64-bit code -> jump to the higher-half entry
 * with the AP's stack and CPU index. SDM Vol. 3A §10.8.5 "Initializing IA-32e
 * Mode".
 *
 * The code runs at an address other than the one it is linked at, so every
 * address is written as SMP_TRAMPOLINE_PHYS + (label - smp_trampoline_start).
 */

#include "arch/x86_64/smp/TrampolineLayout.h"

#define REL(label) (SMP_TRAMPOLINE_PHYS + ((label) - smp_trampoline_start))
#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

	.section .rodata.smp_trampoline, "a"
	.balign 16
	.globl smp_trampoline_start
smp_trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (trampoline_gdt_pointer - smp_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x08, $REL(trampoline_protected)

	.code32
trampoline_protected:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl REL(trampoline_pml4), %eax
	movl %eax, %cr3
	/* NXE before paging: the kernel tables use XD bits (SDM Vol. 3A §4.6). */
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	orl REL(trampoline_efer), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmpl $0x18, $REL(trampoline_long)

	.code64
trampoline_long:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq REL(trampoline_stack), %rsp
	movl REL(trampoline_cpu), %edi
	movq REL(trampoline_entry), %rax
	xorl %ebp, %ebp
	call *%rax
1:	cli
	hlt
	jmp 1b

	.balign 16
trampoline_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
trampoline_gdt_pointer:
	.short 4 * 8 - 1
	.long REL(trampoline_gdt)

	/* The data block, filled by Smp.cpp (struct TrampolineData). */
	.balign 8
	.globl smp_trampoline_data
smp_trampoline_data:
trampoline_pml4:	.quad 0
trampoline_stack:	.quad 0
trampoline_entry:	.quad 0
trampoline_cpu:		.long 0
trampoline_efer:	.long 0
	.globl smp_trampoline_end
smp_trampoline_end:

	.section .note.GNU-stack, "", @progbits
