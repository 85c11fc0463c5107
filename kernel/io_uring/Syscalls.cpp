#include "kernel/io_uring/Syscalls.h"

#include "arch/x86_64/mm/UserCopy.h"
#include "fs/vfs/FileApi.h"
#include "kernel/io_uring/RingFile.h"
#include "kernel/proc/Current.h"
#include "kernel/proc/Process.h"
#include "uapi/fcntl.h"

namespace io_uring {
namespace {

constexpr u32 ENTER_FLAGS = IORING_ENTER_GETEVENTS | IORING_ENTER_SQ_WAKEUP | IORING_ENTER_SQ_WAIT
                            | IORING_ENTER_EXT_ARG | IORING_ENTER_REGISTERED_RING;
constexpr u32 REGISTERED_RING_SLOTS = 16; // IO_RINGFD_REG_MAX
constexpr u64 SIGSET_BYTES = 8;           // _NSIG / 8

// The File behind a ring fd for the duration of a syscall.
class RingFileRef {
public:
    explicit RingFileRef(int fd)
    {
        auto got = proc::current_process()->files->table.get(fd);
        if (got.is_error()) {
            m_error = -EBADF;
            return;
        }
        m_file = got.value();
        if (!is_ring_file(*m_file))
            m_error = -EOPNOTSUPP;
    }
    ~RingFileRef()
    {
        if (m_file)
            (void)vfs::close(m_file);
    }
    RingFileRef(const RingFileRef&) = delete;
    RingFileRef& operator=(const RingFileRef&) = delete;

    long error() const { return m_error; }
    Ring& ring() const { return ring_of(*m_file); }

private:
    vfs::File* m_file = nullptr;
    long m_error = 0;
};

struct WaitArguments {
    bool has_timeout = false;
    u64 timeout_ns = 0;
    bool bad_sigset = false; // EINVAL, but only once the call would sleep (Linux)
    bool has_sigmask = false;
};

// The GETEVENTS argument: a sigset, or with EXT_ARG an io_uring_getevents_arg
// (sigmask + timeout). Waiting under a temporary signal mask is not
// implemented: a mask is refused (EINVAL) rather than ignored.
long read_wait_arguments(u32 flags, u64 user_argument, u64 size, WaitArguments& out)
{
    if (!(flags & IORING_ENTER_EXT_ARG)) {
        out.bad_sigset = user_argument && size != SIGSET_BYTES;
        out.has_sigmask = user_argument != 0;
        return 0;
    }
    if (size != sizeof(uapi::io_uring_getevents_arg))
        return -EINVAL;
    uapi::io_uring_getevents_arg argument;
    if (user::copy_from_user(&argument, reinterpret_cast<const void*>(user_argument), sizeof(argument)).is_error())
        return -EFAULT;
    // `pad` is min_wait_usec in newer kernels: not checked.
    out.bad_sigset = argument.sigmask && argument.sigmask_sz != SIGSET_BYTES;
    out.has_sigmask = argument.sigmask != 0;
    if (argument.ts) {
        uapi::__kernel_timespec ts;
        if (user::copy_from_user(&ts, reinterpret_cast<const void*>(argument.ts), sizeof(ts)).is_error())
            return -EFAULT;
        out.has_timeout = true;
        const i64 ns = ts.tv_sec < 0 ? 0 : ts.tv_sec * 1000000000ll + ts.tv_nsec;
        out.timeout_ns = ns < 0 ? 0 : static_cast<u64>(ns);
    }
    return 0;
}

} // namespace

u32 supported_features()
{
    return IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_RW_CUR_POS
           | IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP;
}

u32 supported_setup_flags() { return IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL; }

long sys_setup(u64 entries, u64 user_params)
{
    uapi::io_uring_params params;
    if (user::copy_from_user(&params, reinterpret_cast<const void*>(user_params), sizeof(params)).is_error())
        return -EFAULT;
    for (u32 word : params.resv)
        if (word)
            return -EINVAL;
    if (params.flags & ~supported_setup_flags())
        return -EINVAL;
    auto sizes = ring_sizes(entries > ~0u ? ~0u : static_cast<u32>(entries), params.flags, params.cq_entries);
    if (sizes.is_error())
        return -sizes.error().code();
    auto created = Ring::create(sizes.value(), params.flags);
    if (created.is_error())
        return -created.error().code();
    Ring* ring = created.value();

    params.sq_entries = sizes.value().sq_entries;
    params.cq_entries = sizes.value().cq_entries;
    params.features = supported_features();
    params.sq_off = sq_offsets(sizes.value());
    params.cq_off = cq_offsets();
    auto file = open_ring_file(*ring, 0);
    if (file.is_error()) {
        ring->unref();
        return -file.error().code();
    }
    if (user::copy_to_user(reinterpret_cast<void*>(user_params), &params, sizeof(params)).is_error()) {
        (void)vfs::close(file.value());
        return -EFAULT;
    }
    // Linux installs the ring fd close-on-exec.
    auto fd = proc::current_process()->files->table.install(file.value(), FD_CLOEXEC);
    if (fd.is_error()) {
        (void)vfs::close(file.value());
        return -fd.error().code();
    }
    return fd.value();
}

long sys_enter(u64 fd, u64 to_submit, u64 min_complete, u64 flags_argument, u64 user_argument, u64 argument_size)
{
    const u32 flags = static_cast<u32>(flags_argument);
    if (flags & ~ENTER_FLAGS)
        return -EINVAL;
    if (flags & IORING_ENTER_REGISTERED_RING)
        return static_cast<u32>(fd) >= REGISTERED_RING_SLOTS ? -EINVAL : -EBADF; // none can be registered
    RingFileRef file(static_cast<int>(fd));
    if (file.error())
        return file.error();
    Ring& ring = file.ring();
    WaitArguments wait;
    if (flags & IORING_ENTER_GETEVENTS) {
        if (long bad = read_wait_arguments(flags, user_argument, argument_size, wait))
            return bad;
    }
    ring.reap();
    long result = 0;
    if (to_submit)
        result = ring.submit(static_cast<u32>(min<u64>(to_submit, ~0u)));
    if (flags & IORING_ENTER_GETEVENTS) {
        if ((wait.bad_sigset || wait.has_sigmask) && ring.cq_ready() < min<u64>(min_complete, ring.sizes().cq_entries)) {
            ring.reap();
            return result ? result : -EINVAL;
        }
        auto waited = ring.wait_for_completions(static_cast<u32>(min_complete), wait.timeout_ns, wait.has_timeout);
        if (!result && waited.is_error())
            result = -waited.error().code();
    }
    ring.reap();
    return result;
}

long sys_register(u64 fd, u64 opcode, u64 user_argument, u64 count)
{
    RingFileRef file(static_cast<int>(fd));
    if (file.error())
        return file.error();
    return file.ring().do_register(static_cast<u32>(opcode), user_argument, static_cast<u32>(count));
}

} // namespace io_uring
