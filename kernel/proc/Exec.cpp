#include "kernel/proc/Exec.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/Random.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "arch/x86_64/user/UserEntry.h"
#include "fs/vfs/FileApi.h"
#include "kernel/debug/Panic.h"
#include "kernel/lib/Atomic.h"
#include "kernel/lib/String.h"
#include "kernel/log/Log.h"
#include "kernel/mm/AddressSpace.h"
#include "kernel/mm/Heap.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Elf.h"
#include "kernel/proc/ElfLoader.h"
#include "kernel/proc/Paths.h"
#include "kernel/proc/ProcessTable.h"
#include "kernel/proc/Signals.h"
#include "kernel/sched/Scheduler.h"
#include "uapi/errno.h"
#include "uapi/fcntl.h"
#include "uapi/mman.h"

namespace proc {
namespace {

constexpr int MAX_INTERPRETER_DEPTH = 4; // Linux: 4 levels of binfmt recursion
constexpr usize HEADER_BYTES = 256;      // BINPRM_BUF_SIZE
constexpr u64 CLOCK_TICKS_PER_SECOND = 100; // USER_HZ
const char PLATFORM[] = "x86_64";

class FileRef {
public:
    explicit FileRef(vfs::File* file) : m_file(file) { }
    ~FileRef()
    {
        if (m_file)
            (void)vfs::close(m_file);
    }
    FileRef(const FileRef&) = delete;
    FileRef& operator=(const FileRef&) = delete;
    vfs::File& operator*() const { return *m_file; }
    vfs::File* release()
    {
        vfs::File* file = m_file;
        m_file = nullptr;
        return file;
    }

private:
    vfs::File* m_file;
};

class SpaceRef {
public:
    explicit SpaceRef(mm::AddressSpace* space) : m_space(space) { }
    ~SpaceRef()
    {
        if (m_space)
            m_space->unref();
    }
    SpaceRef(const SpaceRef&) = delete;
    SpaceRef& operator=(const SpaceRef&) = delete;
    mm::AddressSpace* get() const { return m_space; }
    mm::AddressSpace* release()
    {
        mm::AddressSpace* space = m_space;
        m_space = nullptr;
        return space;
    }

private:
    mm::AddressSpace* m_space;
};

// Linux's exec permission check for root (fs/namei.c generic_permission):
// a regular file with at least one execute bit.
Result<void> check_executable(vfs::File& file)
{
    vfs::Stat st;
    TRY(vfs::fstat(file, st));
    if ((st.mode & S_IFMT) != S_IFREG)
        return Error::from_errno(EACCES);
    if (!(st.mode & 0111))
        return Error::from_errno(EACCES);
    return {};
}

// "#!interpreter [argument]" in the first line (binfmt_script.c): the
// interpreter ends at the first blank, the argument is the rest of the line
// without surrounding blanks. ENOEXEC if there is no interpreter.
struct Shebang {
    char interpreter[HEADER_BYTES];
    char argument[HEADER_BYTES];
    bool has_argument;
};

Result<void> parse_shebang(const char* header, usize size, Shebang& out)
{
    usize end = 2;
    while (end < size && header[end] != '\n')
        end++;
    // The whole first line must fit (newer Linux: ENOEXEC when it is cut).
    if (end == size && size == HEADER_BYTES)
        return Error::from_errno(ENOEXEC);
    usize i = 2;
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (i < end && blank(header[i]))
        i++;
    usize start = i;
    while (i < end && !blank(header[i]) && header[i])
        i++;
    if (i == start)
        return Error::from_errno(ENOEXEC);
    memcpy(out.interpreter, header + start, i - start);
    out.interpreter[i - start] = '\0';
    while (i < end && blank(header[i]))
        i++;
    usize arg_end = end;
    while (arg_end > i && (blank(header[arg_end - 1]) || header[arg_end - 1] == '\r' || !header[arg_end - 1]))
        arg_end--;
    out.has_argument = arg_end > i;
    memcpy(out.argument, header + i, arg_end - i);
    out.argument[arg_end - i] = '\0';
    return {};
}

// argv for the interpreter: [interpreter, argument?, script, argv[1..]],
// then the same environment.
Result<void> rebuild_for_script(ExecArgs& args, const Shebang& shebang, const char* script, ExecArgs& out)
{
    TRY(out.add_argument(shebang.interpreter, strlen(shebang.interpreter)));
    if (shebang.has_argument)
        TRY(out.add_argument(shebang.argument, strlen(shebang.argument)));
    TRY(out.add_argument(script, strlen(script)));
    const char* s = args.strings();
    for (u32 i = 0; i < args.argc() + args.envc(); i++) {
        usize length = strlen(s);
        if (i >= 1 && i < args.argc())
            TRY(out.add_argument(s, length));
        else if (i >= args.argc())
            TRY(out.add_environment(s, length));
        s += length + 1;
    }
    return {};
}

// The initial stack (System V x86-64 psABI §3.4.1, Linux fs/binfmt_elf.c
// create_elf_tables), from the top down: a null word, the AT_EXECFN string,
// the environment and argument strings, the AT_PLATFORM string and the 16
// AT_RANDOM bytes, then (16-byte aligned, growing down) auxv, envp, argv and
// argc, where rsp points at entry.
Result<uptr> build_stack(mm::AddressSpace& space, const ExecArgs& args, const char* execfn, const LoadedImage& image)
{
    mm::MapRequest request;
    request.address = mm::STACK_TOP - mm::STACK_MAX;
    request.length = mm::STACK_MAX;
    request.prot = PROT_READ | PROT_WRITE | (image.executable_stack ? PROT_EXEC : 0);
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    request.extra_vma_flags = mm::VMA_STACK;
    TRY(space.map(request));

    usize execfn_size = strlen(execfn) + 1;
    usize strings_size = args.size();
    constexpr usize AUX_PAIRS = 19;
    usize pointer_words = 1 + (args.argc() + 1) + (args.envc() + 1) + 2 * AUX_PAIRS;

    uptr top = mm::STACK_TOP - sizeof(u64);
    uptr execfn_at = top - execfn_size;
    uptr strings_at = execfn_at - strings_size;
    uptr platform_at = strings_at - sizeof PLATFORM;
    uptr random_at = align_down(platform_at - 16, uptr(16));
    uptr sp = align_down(random_at - pointer_words * sizeof(u64), uptr(16));
    usize block_size = mm::STACK_TOP - sp;
    if (block_size > mm::STACK_MAX / 4)
        return Error::from_errno(E2BIG);

    u8* block = static_cast<u8*>(kzalloc(block_size));
    if (!block)
        return Error::from_errno(ENOMEM);
    auto at = [&](uptr address) { return block + (address - sp); };
    memcpy(at(execfn_at), execfn, execfn_size);
    memcpy(at(strings_at), args.strings(), strings_size);
    memcpy(at(platform_at), PLATFORM, sizeof PLATFORM);
    random::get_bytes(at(random_at), 16);

    auto* words = reinterpret_cast<u64*>(at(sp));
    usize w = 0;
    words[w++] = args.argc();
    uptr cursor = strings_at;
    const char* s = args.strings();
    for (u32 i = 0; i < args.argc() + args.envc(); i++) {
        if (i == args.argc())
            words[w++] = 0; // end of argv
        words[w++] = cursor;
        usize length = strlen(s) + 1;
        cursor += length;
        s += length;
    }
    if (args.argc() + args.envc() == args.argc())
        words[w++] = 0; // no environment: argv's terminator
    words[w++] = 0;     // end of envp
    auto aux = [&](u64 type, u64 value) {
        words[w++] = type;
        words[w++] = value;
    };
    aux(elf::AT_HWCAP, x86::cpuid(1).edx);
    aux(elf::AT_PAGESZ, PAGE_SIZE);
    aux(elf::AT_CLKTCK, CLOCK_TICKS_PER_SECOND);
    aux(elf::AT_PHDR, image.phdr);
    aux(elf::AT_PHENT, image.phent);
    aux(elf::AT_PHNUM, image.phnum);
    aux(elf::AT_BASE, 0);
    aux(elf::AT_FLAGS, 0);
    aux(elf::AT_ENTRY, image.entry);
    aux(elf::AT_UID, 0);
    aux(elf::AT_EUID, 0);
    aux(elf::AT_GID, 0);
    aux(elf::AT_EGID, 0);
    aux(elf::AT_SECURE, 0);
    aux(elf::AT_RANDOM, random_at);
    aux(elf::AT_HWCAP2, 0);
    aux(elf::AT_EXECFN, execfn_at);
    aux(elf::AT_PLATFORM, platform_at);
    aux(elf::AT_NULL, 0);
    ASSERT(w <= pointer_words);

    Result<void> filled = space.populate_from(sp, block, block_size);
    kfree(block);
    TRY(filled);
    return sp;
}

// Ends every other thread of the group (Linux de_thread) and waits until
// they are gone.
void end_other_threads(Process& process, Task& self)
{
    {
        SpinLockGuard guard(tree_lock());
        if (process.live_tasks == 1)
            return;
        for (Task& other : process.tasks) {
            if (&other == &self)
                continue;
            mark_killed_locked(other);
        }
    }
    for (;;) {
        {
            SpinLockGuard guard(tree_lock());
            if (process.live_tasks == 1)
                return;
        }
        sched::sleep_for(1'000'000);
    }
}

const char* basename(const char* path)
{
    const char* base = path;
    for (const char* p = path; *p; p++) {
        if (*p == '/' && p[1])
            base = p + 1;
    }
    return base;
}

} // namespace

ExecArgs::~ExecArgs() { kfree(m_data); }

Result<void> ExecArgs::add(const char* text, usize length)
{
    if (!m_data) {
        m_data = static_cast<char*>(kmalloc(CAPACITY));
        if (!m_data)
            return Error::from_errno(ENOMEM);
    }
    if (length + 1 > CAPACITY - m_used)
        return Error::from_errno(E2BIG);
    memcpy(m_data + m_used, text, length);
    m_data[m_used + length] = '\0';
    m_used += length + 1;
    return {};
}

Result<void> ExecArgs::add_argument(const char* text, usize length)
{
    ASSERT(m_envc == 0);
    TRY(add(text, length));
    m_argc++;
    return {};
}

Result<void> ExecArgs::add_environment(const char* text, usize length)
{
    TRY(add(text, length));
    m_envc++;
    return {};
}

Result<void> ExecArgs::add_user_vector(const char* const* user_vector, bool environment)
{
    if (!user_vector)
        return {};
    if (!m_data) {
        m_data = static_cast<char*>(kmalloc(CAPACITY));
        if (!m_data)
            return Error::from_errno(ENOMEM);
    }
    for (usize i = 0;; i++) {
        const char* user_string = TRY(user::get_user(user_vector + i));
        if (!user_string)
            return {};
        auto copied = user::strncpy_from_user(m_data + m_used, user_string, CAPACITY - m_used);
        if (copied.is_error())
            return Error::from_errno(copied.error().code() == ENAMETOOLONG ? E2BIG : copied.error().code());
        m_used += copied.value() + 1;
        if (environment)
            m_envc++;
        else
            m_argc++;
    }
}

Result<void> execve(const char* path, ExecArgs& args)
{
    Task* self = current_task();
    Process& process = *self->process;

    char* resolved = static_cast<char*>(kmalloc(PATH_CAPACITY));
    if (!resolved)
        return Error::from_errno(ENOMEM);
    struct Free {
        void* p;
        ~Free() { kfree(p); }
    } free_resolved{resolved};
    TRY(absolute_path(path, resolved, PATH_CAPACITY));

    // Scripts: each level replaces the arguments and the file to load.
    ExecArgs script_args[MAX_INTERPRETER_DEPTH];
    ExecArgs* current_args = &args;
    vfs::File* file = nullptr;
    for (int depth = 0;; depth++) {
        FileRef candidate(TRY(vfs::open(StringView(resolved, strlen(resolved)), O_RDONLY)));
        TRY(check_executable(*candidate));
        char header[HEADER_BYTES];
        usize got = TRY(vfs::pread(*candidate, header, sizeof header, 0));
        if (is_elf(reinterpret_cast<const u8*>(header), got)) {
            file = candidate.release();
            break;
        }
        if (got < 2 || header[0] != '#' || header[1] != '!') {
            log_warn("exec", "%s: cannot execute: not an ELF executable or a #! script", resolved);
            return Error::from_errno(ENOEXEC);
        }
        if (depth == MAX_INTERPRETER_DEPTH)
            return Error::from_errno(ELOOP);
        Shebang shebang;
        TRY(parse_shebang(header, got, shebang));
        // The script is named as the caller named it (Linux passes
        // bprm->filename), and the interpreter's path is resolved likewise.
        const char* script = depth == 0 ? path : resolved;
        TRY(rebuild_for_script(*current_args, shebang, script, script_args[depth]));
        current_args = &script_args[depth];
        TRY(absolute_path(shebang.interpreter, resolved, PATH_CAPACITY));
    }
    FileRef file_ref(file);

    SpaceRef space(TRY(mm::AddressSpace::create()));
    LoadedImage image = TRY(load_elf(*file, resolved, *space.get()));
    space.get()->set_brk_start(image.brk_start);
    uptr sp = TRY(build_stack(*space.get(), *current_args, path, image));

    // --- the point of no return ---------------------------------------------------
    end_other_threads(process, *self);
    mm::AddressSpace* old_space = process.address_space;
    mm::AddressSpace* new_space = space.release();
    {
        bool were_enabled = x86::save_and_disable_interrupts();
        process.address_space = new_space;
        current_thread()->set_address_space(new_space);
        new_space->activate();
        x86::restore_interrupts(were_enabled);
    }
    if (old_space)
        old_space->unref();
    if (process.files)
        process.files->table.close_on_exec();
    const char* name = basename(path);
    usize n = min(strlen(name), COMM_CAPACITY - 1);
    memcpy(process.comm, name, n);
    process.comm[n] = '\0';
    self->clear_child_tid = 0;
    self->robust_list = 0;
    user::reset_for_exec(*self->user_state);
    reset_signals_for_exec(process, *self);
    {
        SpinLockGuard guard(tree_lock());
        process.did_exec = true;
        if (process.vfork_done) {
            process.vfork_done->complete();
            process.vfork_done = nullptr;
        }
    }
    user::init_frame(*user::frame_at(current_thread()->stack_top()), image.entry, sp);
    return {};
}

} // namespace proc
