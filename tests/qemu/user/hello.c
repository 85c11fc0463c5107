/* The first user program: stdio through writev, argv from the kernel
 * command line, and an exit status the kernel reports. */
#include <stdio.h>

int main(int argc, char** argv)
{
    printf("hello from %s, argc=%d", argv[0], argc);
    for (int i = 1; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n");
    return 3;
}
