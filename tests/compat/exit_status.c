/* How a program ends, as its parent sees it: exit(N) with the code given as
 * argv[1], or "signal N" raising a signal, "abort", or "return" from main. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv)
{
    if (argc < 2)
        return 2;
    printf("ending with %s%s%s\n", argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
    fflush(stdout);
    if (strcmp(argv[1], "abort") == 0)
        abort();
    if (strcmp(argv[1], "signal") == 0 && argc > 2)
        raise(atoi(argv[2]));
    if (strcmp(argv[1], "_exit") == 0 && argc > 2)
        _exit(atoi(argv[2])); /* stdio buffers are not flushed: nothing else printed */
    if (strcmp(argv[1], "return") == 0 && argc > 2)
        return atoi(argv[2]);
    exit(atoi(argv[1]));
}
