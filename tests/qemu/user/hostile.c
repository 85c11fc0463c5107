/* A hostile program: bad pointers to syscalls (null, kernel addresses, a
 * buffer straddling into an unmapped page), faults of every kind in
 * children (null write, write to kernel text, a jump into a non-executable
 * page, ud2, int3, divide by zero), kernel-half FS bases and unknown
 * syscall numbers. The kernel must answer with errno values and signals,
 * exactly as Linux does, and never fault itself. Lines start with "T: ". */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define KERNEL_TEXT ((void*)0xffffffff80100000ul)
#define KERNEL_DIRECT_MAP ((void*)0xffff800000001000ul)
#define NON_CANONICAL ((void*)0x0000800000000000ul)

extern char end[]; /* end of bss: the next page is not mapped */

static void show(const char* what, long result)
{
    if (result < 0)
        printf("T: %s: -1 %s\n", what, strerror(errno));
    else
        printf("T: %s: %ld\n", what, result);
}

static void in_child(const char* what, void (*action)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        action();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("T: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("T: %s: exited %d\n", what, WEXITSTATUS(status));
}

static void null_write(void) { *(volatile int*)0 = 1; }
static void null_read(void) { (void)*(volatile int*)16; }
static void kernel_text_write(void) { *(volatile int*)KERNEL_TEXT = 1; }
static void kernel_text_read(void) { (void)*(volatile int*)KERNEL_TEXT; }
static void kernel_jump(void) { ((void (*)(void))KERNEL_TEXT)(); }
static void stack_jump(void)
{
    volatile unsigned char code[16] = {0xc3}; /* ret, on the non-executable stack */
    ((void (*)(void))(uintptr_t)code)();
}
static void data_jump(void)
{
    static unsigned char code[16] = {0xc3}; /* ret, in writable data */
    ((void (*)(void))(uintptr_t)code)();
}
static void undefined(void) { __asm__ volatile("ud2"); }
static void breakpoint(void) { __asm__ volatile("int3"); }
static void privileged(void) { __asm__ volatile("cli"); }
static void port_io(void) { __asm__ volatile("outb %%al, $0x80" : : "a"(0)); }
static void int_41(void) { __asm__ volatile("int $0x41"); }
static void divide(void) { __asm__ volatile("xorl %%ecx, %%ecx; movl $1, %%eax; cltd; idivl %%ecx" : : : "eax", "ecx", "edx"); }
static void bad_stack(void)
{
    /* A syscall with a kernel stack pointer, then a push: the push faults. */
    __asm__ volatile("movq $0xffffffff80100000, %%rsp; pushq $0" : : : "memory");
}
static void noncanonical_return(void)
{
    /* sigreturn-free way to reach a non-canonical RIP: jump there. */
    ((void (*)(void))NON_CANONICAL)();
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    show("write(NULL)", write(1, NULL, 5));
    show("write(kernel text)", write(1, KERNEL_TEXT, 5));
    show("write(direct map)", write(1, KERNEL_DIRECT_MAP, 5));
    show("write(non-canonical)", write(1, NON_CANONICAL, 5));
    show("write(count huge)", write(1, "x", ~0ul >> 1));
    show("read(kernel)", read(0, KERNEL_TEXT, 5));
    show("uname(NULL)", uname(NULL));
    show("uname(kernel)", uname(KERNEL_TEXT));
    uintptr_t page_end = ((uintptr_t)end + 4095) & ~4095ul;
    show("uname(straddling)", uname((struct utsname*)(page_end - 64)));
    show("getcwd(kernel)", (long)(syscall(SYS_getcwd, KERNEL_TEXT, 100)));
    show("writev(bad iov)", syscall(SYS_writev, 1, KERNEL_TEXT, 1));
    show("arch_prctl(SET_FS, kernel)", syscall(SYS_arch_prctl, 0x1002, 0xffff800000000000ul));
    show("arch_prctl(SET_FS, non-canonical)", syscall(SYS_arch_prctl, 0x1002, 0x0000800000000000ul));
    show("arch_prctl(GET_FS, kernel)", syscall(SYS_arch_prctl, 0x1003, KERNEL_TEXT));
    show("syscall 999", syscall(999));
    show("syscall -1", syscall(-1));
    show("execve(kernel path)", syscall(SYS_execve, KERNEL_TEXT, NULL, NULL));
    show("wait4(bad status)", syscall(SYS_wait4, -1, KERNEL_TEXT, 0, NULL));
    show("set_robust_list(bad len)", syscall(SYS_set_robust_list, NULL, 3));
    show("futex(kernel)", syscall(SYS_futex, KERNEL_TEXT, 0, 0, NULL, NULL, 0));
    show("futex(unaligned)", syscall(SYS_futex, (char*)&errno + 1, 1, 0, NULL, NULL, 0));

    in_child("null write", null_write);
    in_child("null read", null_read);
    in_child("kernel text write", kernel_text_write);
    in_child("kernel text read", kernel_text_read);
    in_child("jump into kernel text", kernel_jump);
    in_child("jump into the stack", stack_jump);
    in_child("jump into data", data_jump);
    in_child("ud2", undefined);
    in_child("int3", breakpoint);
    in_child("cli", privileged);
    in_child("outb", port_io);
    in_child("int 0x41", int_41);
    in_child("divide by zero", divide);
    in_child("kernel stack pointer", bad_stack);
    in_child("non-canonical jump", noncanonical_return);
    printf("T: survived\n");
    return 0;
}
