/* Numbers no kernel implements are -ENOSYS, and the process goes on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const long numbers[] = { 600, 1000, 4096, 100000, -1 };
    for (unsigned i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        errno = 0;
        long r = syscall(numbers[i], 1, 2, 3, 4, 5, 6);
        printf("syscall(%ld) = %ld %s\n", numbers[i], r, r < 0 ? strerror(errno) : "");
    }
    return 0;
}
