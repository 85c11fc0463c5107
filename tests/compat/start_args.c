/* What execve hands a program: argc, argv, envp and the auxiliary vector
 * (the entries whose values do not depend on the machine). */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv)
{
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] %s\n", argv[argc] ? "not NULL" : "NULL");
    int envc = 0;
    for (char** e = environ; *e; e++)
        printf("envp[%d] %s\n", envc++, *e);

    printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
    printf("AT_CLKTCK %lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
    printf("AT_PHENT %lu\n", getauxval(AT_PHENT));
    printf("AT_UID == getuid %d\n", getauxval(AT_UID) == getuid());
    printf("AT_EUID == geteuid %d\n", getauxval(AT_EUID) == geteuid());
    printf("AT_GID == getgid %d\n", getauxval(AT_GID) == getgid());
    printf("AT_EGID == getegid %d\n", getauxval(AT_EGID) == getegid());
    printf("AT_RANDOM set %d\n", getauxval(AT_RANDOM) != 0);
    printf("AT_ENTRY set %d\n", getauxval(AT_ENTRY) != 0);

    /* AT_PHDR points at this program's own headers: its PT_LOAD count. */
    const Elf64_Phdr* phdr = (const Elf64_Phdr*)getauxval(AT_PHDR);
    unsigned long phnum = getauxval(AT_PHNUM);
    int loads = 0;
    for (unsigned long i = 0; phdr && i < phnum; i++)
        loads += phdr[i].p_type == PT_LOAD;
    printf("AT_PHNUM %lu, PT_LOAD %d\n", phnum, loads);

    const char* execfn = (const char*)getauxval(AT_EXECFN);
    printf("AT_EXECFN set %d\n", execfn != NULL);
    return 0;
}
