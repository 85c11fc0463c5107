/*
 * Multiboot2 header and the 32-bit entry that takes the boot CPU to the
 * higher-half kernel in long mode.
 *
 * GRUB leaves us in 32-bit protected mode, paging off, EAX = magic,
 * EBX = physical address of the boot information (Multiboot2 spec §3.3).
 * We build throw-away page tables with 2 MiB pages:
 *   identity, first 1 GiB    (so the instruction after "paging on" still runs)
 *   DIRECT_MAP_BASE + phys   first 4 GiB (boot info, ACPI, modules, and the
 *                            local APIC until the memory manager maps MMIO)
 *   KERNEL_VMA + phys        first 1 GiB (where the kernel is linked, -mcmodel=kernel)
 * The memory manager replaces them with the real direct map later.
 */

#include "arch/x86_64/boot/Layout.h"

#define MB2_MAGIC        0xe85250d6
#define MB2_ARCH_I386    0
#define CR0_PG           (1 << 31)
#define CR0_WP           (1 << 16)
#define CR4_PAE          (1 << 5)
#define CR4_OSFXSR       (1 << 9)
#define CR4_OSXMMEXCPT   (1 << 10)
#define MSR_EFER         0xc0000080
#define EFER_LME         (1 << 8)
#define EFER_NXE         (1 << 11)
#define PTE_PRESENT      0x1
#define PTE_WRITE        0x2
#define PTE_HUGE         0x80

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* end tag */
	.short 0
	.short 0
	.long 8
mb2_header_end:

	.section .boot.bss, "aw", @nobits
	.balign 4096
boot_pml4:	.skip 4096
boot_pdpt_low:	.skip 4096
boot_pdpt_high:	.skip 4096
boot_pdpt_direct: .skip 4096
boot_pd:	.skip 4 * 4096		/* four PDs: 0..4 GiB */
	.balign 16
boot_stack32:	.skip 1024
boot_stack32_top:

	.section .boot.data, "aw"
	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.long 0
	.globl boot_mb2_magic
boot_mb2_magic:	.long 0
	.globl boot_mb2_info
boot_mb2_info:	.long 0

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack32_top, %esp
	movl %eax, boot_mb2_magic
	movl %ebx, boot_mb2_info

	/* The kernel needs long mode (CPUID 0x80000001 EDX bit 29). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode
	movl %edx, %esi			/* keep: bit 20 = NX */

	/* The loader zero-fills .boot.bss, but do not depend on it. */
	movl $boot_pml4, %edi
	xorl %eax, %eax
	movl $(8 * 4096 / 4), %ecx
	rep stosl

	/* PDs: 2048 x 2 MiB = the first 4 GiB. */
	movl $boot_pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_PRESENT | PTE_WRITE | PTE_HUGE), %eax
	movl %eax, (%edi, %ecx, 8)
	movl $0, 4(%edi, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 1b

	movl $(boot_pd + PTE_PRESENT + PTE_WRITE), %eax
	movl %eax, boot_pdpt_low		/* PDPT_low[0]   -> 0..1 GiB */
	movl %eax, boot_pdpt_high + 8 * 510	/* PDPT_high[510] -> 0..1 GiB at -2 GiB */
	movl %eax, boot_pdpt_direct
	addl $4096, %eax
	movl %eax, boot_pdpt_direct + 8
	addl $4096, %eax
	movl %eax, boot_pdpt_direct + 16
	addl $4096, %eax
	movl %eax, boot_pdpt_direct + 24	/* PDPT_direct[0..3] -> 0..4 GiB */
	movl $(boot_pdpt_low + PTE_PRESENT + PTE_WRITE), %eax
	movl %eax, boot_pml4				/* identity */
	movl $(boot_pdpt_direct + PTE_PRESENT + PTE_WRITE), %eax
	movl %eax, boot_pml4 + 8 * PML4_INDEX_DIRECT_MAP	/* direct map */
	movl $(boot_pdpt_high + PTE_PRESENT + PTE_WRITE), %eax
	movl %eax, boot_pml4 + 8 * 511			/* kernel image */

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3

	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	testl $(1 << 20), %esi
	jz 2f
	orl $EFER_NXE, %eax
2:	wrmsr

	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $0x08, $long_mode_low

no_long_mode:
	/* Say so on COM1 and stop: nothing else can run. */
	movl $no_long_mode_msg, %esi
	movw $0x3f8, %dx
3:	lodsb
	testb %al, %al
	jz 4f
	outb %al, %dx
	jmp 3b
4:	hlt
	jmp 4b

no_long_mode_msg:
	.asciz "sluice: this CPU has no long mode\r\n"

	.code64
long_mode_low:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $long_mode_high, %rax
	jmp *%rax

	.text
long_mode_high:
	movabsq $__bss_start, %rdi
	movabsq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call run_global_constructors
	movl boot_mb2_magic, %edi
	movl boot_mb2_info, %esi
	call kernel_main
5:	cli
	hlt
	jmp 5b

	.section .bss
	.balign 16
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
