/* Sluice's init (PID 1): mounts what its command line asks, runs one program
 * (the default demo, or the one named), reaps every orphan meanwhile, reports
 * how the program ended on the kernel log and powers the machine off.
 *
 *   init [--mount DEV:DIR[:ro]]... [--cwd DIR] [--env NAME=VALUE]...
 *        [--stdin PATH] [--stdout PATH] [--stderr PATH] [--argv-file PATH]
 *        [--] [PROGRAM [ARGS...]]
 *
 * The kernel passes it the words after "--" on its command line
 * (init=/sbin/init -- --mount nvme0n1:/mnt /bin/prog arg). --argv-file names a
 * file of NUL-terminated words used as PROGRAM and ARGS, for arguments no
 * command line can carry (spaces, newlines, empty words). --stdout and
 * --stderr name the devices the program writes to (tools/exec gives it two
 * serial ports of its own); a tty among them is put in raw mode so that the
 * bytes arrive as written.
 *
 * The report is one line on /dev/kmsg, which tools/exec reads back:
 *   init: exit status N        the program called exit(N)
 *   init: killed by signal N   a signal ended it
 *   init: error: WHAT          init itself could not run it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_PROGRAM "/bin/hello"
#define MAX_WORDS 256

static const char* default_environment[] = {
    "HOME=/",
    "PATH=/sbin:/usr/sbin:/bin:/usr/bin",
    "TERM=vt100",
};

struct options {
    const char* mounts[16];
    int mount_count;
    const char* cwd;
    const char* environment[MAX_WORDS];
    int environment_count;
    const char* stdin_path;
    const char* stdout_path;
    const char* stderr_path;
    const char* argv_file;
    char** program_argv;
};

static void kmsg(const char* format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, line, n);
        close(fd);
    }
}

/* Kill whatever is left, reap it, flush the filesystems, power off. */
static _Noreturn void power_off(void)
{
    kill(-1, SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    sync();
    reboot(RB_POWER_OFF);
    kmsg("init: error: reboot(POWER_OFF): %s", strerror(errno));
    for (;;)
        pause();
}

static _Noreturn void fail(const char* format, ...)
{
    char what[400];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    dprintf(2, "init: %s\n", what);
    kmsg("init: error: %s", what);
    power_off();
}

/* Linux starts init with nothing open; give it the console. */
static void open_console(void)
{
    if (fcntl(0, F_GETFD) >= 0)
        return;
    int fd = open("/dev/console", O_RDWR);
    if (fd < 0)
        return;
    for (int target = 0; target < 3; target++)
        if (fd != target)
            dup2(fd, target);
    if (fd > 2)
        close(fd);
}

static void parse(int argc, char** argv, struct options* o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char* a = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0)
            break;
        if (!value)
            fail("%s needs a value", a);
        if (strcmp(a, "--mount") == 0) {
            if (o->mount_count == (int)(sizeof o->mounts / sizeof o->mounts[0]))
                fail("too many --mount");
            o->mounts[o->mount_count++] = value;
        } else if (strcmp(a, "--cwd") == 0) {
            o->cwd = value;
        } else if (strcmp(a, "--env") == 0) {
            if (o->environment_count == MAX_WORDS - 1)
                fail("too many --env");
            o->environment[o->environment_count++] = value;
        } else if (strcmp(a, "--stdin") == 0) {
            o->stdin_path = value;
        } else if (strcmp(a, "--stdout") == 0) {
            o->stdout_path = value;
        } else if (strcmp(a, "--stderr") == 0) {
            o->stderr_path = value;
        } else if (strcmp(a, "--argv-file") == 0) {
            o->argv_file = value;
        } else {
            fail("unknown option %s", a);
        }
        i++;
    }
    o->program_argv = argv + i;
}

static void make_directories(const char* path)
{
    char partial[256];
    size_t length = strlen(path);
    if (length >= sizeof partial)
        fail("path too long: %s", path);
    for (size_t i = 1; i <= length; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            memcpy(partial, path, i);
            partial[i] = '\0';
            if (mkdir(partial, 0755) < 0 && errno != EEXIST)
                fail("mkdir %s: %s", partial, strerror(errno));
        }
    }
}

/* DEV:DIR[:ro], DEV a name under /dev (nvme0n1) or a path. */
static void mount_one(const char* spec)
{
    char device[128], directory[256];
    const char* colon = strchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        fail("--mount %s: expected DEV:DIR", spec);
    const char* dir = colon + 1;
    const char* options = strchr(dir, ':');
    size_t dir_length = options ? (size_t)(options - dir) : strlen(dir);
    unsigned long flags = 0;
    if (options) {
        if (strcmp(options + 1, "ro") != 0 && strcmp(options + 1, "rw") != 0)
            fail("--mount %s: unknown option %s", spec, options + 1);
        if (strcmp(options + 1, "ro") == 0)
            flags |= MS_RDONLY;
    }
    snprintf(device, sizeof device, "%s%.*s", spec[0] == '/' ? "" : "/dev/", (int)(colon - spec), spec);
    if (dir_length >= sizeof directory)
        fail("--mount %s: directory too long", spec);
    memcpy(directory, dir, dir_length);
    directory[dir_length] = '\0';
    make_directories(directory);
    if (mount(device, directory, "ext2", flags, NULL) < 0)
        fail("mount %s on %s: %s", device, directory, strerror(errno));
}

/* The words of an --argv-file: NUL-terminated, in a buffer that lives on. */
static char** read_argv_file(const char* path)
{
    static char buffer[64 * 1024];
    static char* words[MAX_WORDS + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open %s: %s", path, strerror(errno));
    size_t length = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + length, sizeof buffer - length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("read %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        length += (size_t)n;
        if (length == sizeof buffer)
            fail("%s: longer than %zu bytes", path, sizeof buffer);
    }
    close(fd);
    if (length == 0 || buffer[length - 1] != '\0')
        fail("%s: not a list of NUL-terminated words", path);
    int count = 0;
    for (size_t i = 0; i < length; i += strlen(buffer + i) + 1) {
        if (count == MAX_WORDS)
            fail("%s: more than %d words", path, MAX_WORDS);
        words[count++] = buffer + i;
    }
    words[count] = NULL;
    return words;
}

/* Byte-exact output: no \n -> \r\n on a tty (clear OPOST), no echo. */
static void make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return; /* not a tty: bytes pass unchanged already */
    t.c_oflag &= ~OPOST;
    t.c_lflag &= ~(ECHO | ECHONL);
    tcsetattr(fd, TCSANOW, &t);
}

static void redirect(const char* path, int target, int flags)
{
    if (!path)
        return;
    int fd = open(path, flags);
    if (fd < 0) {
        dprintf(2, "init: open %s: %s\n", path, strerror(errno));
        _exit(126);
    }
    if (fd != target) {
        dup2(fd, target);
        close(fd);
    }
    if (target != 0)
        make_raw(target);
}

int main(int argc, char** argv)
{
    open_console();
    struct options o = { 0 };
    for (size_t i = 0; i < sizeof default_environment / sizeof default_environment[0]; i++)
        o.environment[o.environment_count++] = default_environment[i];
    parse(argc, argv, &o);
    o.environment[o.environment_count] = NULL;

    char** program_argv = o.program_argv;
    static char* default_argv[] = { DEFAULT_PROGRAM, NULL };
    if (o.argv_file)
        program_argv = read_argv_file(o.argv_file);
    else if (!program_argv[0])
        program_argv = default_argv;

    for (int i = 0; i < o.mount_count; i++)
        mount_one(o.mounts[i]);
    if (o.cwd && chdir(o.cwd) < 0)
        fail("chdir %s: %s", o.cwd, strerror(errno));

    pid_t child = fork();
    if (child < 0)
        fail("fork: %s", strerror(errno));
    if (child == 0) {
        redirect(o.stdin_path, 0, O_RDONLY);
        redirect(o.stdout_path, 1, O_WRONLY);
        redirect(o.stderr_path, 2, O_WRONLY);
        execve(program_argv[0], program_argv, (char**)o.environment);
        int error = errno;
        dprintf(2, "init: exec %s: %s\n", program_argv[0], strerror(error));
        _exit(error == ENOENT ? 127 : 126);
    }

    /* PID 1 adopts every orphan: reap them all, and stop at our child. */
    for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fail("wait: %s", strerror(errno));
        }
        if (pid != child)
            continue;
        if (WIFEXITED(status))
            kmsg("init: exit status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            kmsg("init: killed by signal %d", WTERMSIG(status));
        else
            kmsg("init: error: wait status %#x", status);
        power_off();
    }
}
