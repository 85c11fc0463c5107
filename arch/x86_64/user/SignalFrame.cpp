#include "arch/x86_64/user/SignalFrame.h"

#include "arch/x86_64/Cpu.h"
#include "arch/x86_64/Gdt.h"
#include "arch/x86_64/mm/UserCopy.h"
#include "arch/x86_64/user/Fpu.h"
#include "arch/x86_64/user/UserEntry.h"
#include "kernel/lib/String.h"
#include "kernel/mm/Heap.h"
#include "uapi/errno.h"

namespace user {
namespace {

struct RtSigFrame {
    u64 pretcode;
    uapi::ucontext uc;
    uapi::siginfo_t info;
};
static_assert(sizeof(uapi::ucontext) == 304);
static_assert(sizeof(RtSigFrame) == 440);
static_assert(__builtin_offsetof(RtSigFrame, uc) == 8);
static_assert(__builtin_offsetof(RtSigFrame, info) == 312);

// The software-reserved bytes 464..511 of the FXSAVE/XSAVE legacy region
// (struct _fpx_sw_bytes, arch/x86/include/uapi/asm/sigcontext.h): they say
// the image is an XSAVE one and how big, and FP_XSTATE_MAGIC2 follows the
// image, so that rt_sigreturn can tell a full image from a legacy one.
struct FpxSwBytes {
    u32 magic1;
    u32 extended_size;
    u64 xfeatures;
    u32 xstate_size;
    u32 padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);
constexpr usize SW_BYTES_OFFSET = 464;
constexpr usize LEGACY_SIZE = 512;
constexpr usize XSAVE_HEADER_OFFSET = 512;
constexpr u32 FP_XSTATE_MAGIC1 = 0x46505853;
constexpr u32 FP_XSTATE_MAGIC2 = 0x46505845;
constexpr usize MAGIC2_SIZE = 4;
constexpr u64 XFEATURE_MASK_FPSSE = 0x3;
constexpr usize RED_ZONE = 128;

// RFLAGS a handler starts without (Linux's handle_signal), and those
// rt_sigreturn takes from the frame (FIX_EFLAGS: AC OF DF TF SF ZF AF PF CF RF).
constexpr u64 RFLAGS_TF = 1ul << 8;
constexpr u64 RFLAGS_DF = 1ul << 10;
constexpr u64 RFLAGS_RF = 1ul << 16;
constexpr u64 FIX_EFLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | (1ul << 16) | (1ul << 18);

usize fp_frame_size() { return fpu::image_size() + (fpu::uses_xsave() ? MAGIC2_SIZE : 0); }

// The live FPU registers (the user's: the kernel never touches them) into a
// heap copy with the signal-frame markers, as Linux's copy_fpstate_to_sigframe.
u8* capture_fpu_image()
{
    ThreadState* state = current_state();
    usize size = fpu::image_size();
    u8* image = static_cast<u8*>(kmalloc(size));
    if (!image)
        return nullptr;
    bool were_enabled = x86::save_and_disable_interrupts();
    fpu::save(state->fpu);
    memcpy(image, state->fpu, size);
    x86::restore_interrupts(were_enabled);
    if (fpu::uses_xsave()) {
        FpxSwBytes sw{};
        sw.magic1 = FP_XSTATE_MAGIC1;
        sw.extended_size = static_cast<u32>(size + MAGIC2_SIZE);
        sw.xfeatures = fpu::enabled_features();
        sw.xstate_size = static_cast<u32>(size);
        memcpy(image + SW_BYTES_OFFSET, &sw, sizeof sw);
        // Linux always marks x87 and SSE present in a frame's XSTATE_BV.
        u64 xstate_bv;
        memcpy(&xstate_bv, image + XSAVE_HEADER_OFFSET, sizeof xstate_bv);
        xstate_bv |= XFEATURE_MASK_FPSSE;
        memcpy(image + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof xstate_bv);
    } else {
        memset(image + SW_BYTES_OFFSET, 0, LEGACY_SIZE - SW_BYTES_OFFSET);
    }
    return image;
}

// Load `image` (a validated full-size image) into the registers.
void load_fpu_image(const u8* image)
{
    ThreadState* state = current_state();
    bool were_enabled = x86::save_and_disable_interrupts();
    memcpy(state->fpu, image, fpu::image_size());
    fpu::restore(state->fpu);
    x86::restore_interrupts(were_enabled);
}

void reset_fpu()
{
    ThreadState* state = current_state();
    bool were_enabled = x86::save_and_disable_interrupts();
    fpu::init_state(state->fpu);
    fpu::restore(state->fpu);
    x86::restore_interrupts(were_enabled);
}

struct Free {
    void* p;
    ~Free() { kfree(p); }
};

// fpu__restore_sig: a null pointer means the init state; an image with both
// magics is a full XSAVE image, anything else only its legacy x87/SSE part.
Result<void> restore_fpu(uptr user_image, bool xstate_flag)
{
    if (!user_image) {
        reset_fpu();
        return {};
    }
    usize size = fpu::image_size();
    if (user_image % 64 || !access_ok(user_image, size))
        return Error::from_errno(EFAULT);
    u8* image = static_cast<u8*>(kmalloc(size));
    if (!image)
        return Error::from_errno(ENOMEM);
    Free free_image{image};
    TRY(copy_from_user(image, reinterpret_cast<const void*>(user_image), size));
    bool full = false;
    if (fpu::uses_xsave() && xstate_flag) {
        FpxSwBytes sw;
        memcpy(&sw, image + SW_BYTES_OFFSET, sizeof sw);
        if (sw.magic1 == FP_XSTATE_MAGIC1 && sw.xstate_size == size && sw.extended_size == size + MAGIC2_SIZE) {
            u32 magic2 = TRY(get_user(reinterpret_cast<const u32*>(user_image + size)));
            full = magic2 == FP_XSTATE_MAGIC2;
        }
    }
    if (fpu::uses_xsave()) {
        u64 xstate_bv;
        memcpy(&xstate_bv, image + XSAVE_HEADER_OFFSET, sizeof xstate_bv);
        if (!full) {
            // Legacy image: x87/SSE from it, the rest in its init state.
            memset(image + XSAVE_HEADER_OFFSET, 0, size - XSAVE_HEADER_OFFSET);
            xstate_bv = XFEATURE_MASK_FPSSE;
        }
        memcpy(image + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof xstate_bv);
    }
    if (!fpu::image_is_valid(image))
        return Error::from_errno(EINVAL);
    load_fpu_image(image);
    return {};
}

} // namespace

Result<void> push_signal_frame(UserFrame& frame, const SignalDelivery& delivery)
{
    uptr sp = frame.rsp - RED_ZONE;
    AltStack* alt = delivery.alt_stack;
    bool nested = alt && on_alt_stack(*alt, frame.rsp);
    bool entering = false;
    if (alt && (delivery.flags & SA_ONSTACK) && alt_stack_state(*alt, frame.rsp) == 0) {
        sp = alt->sp + alt->size;
        entering = true;
    }
    uptr fp_image = align_down(sp - fp_frame_size(), uptr(64));
    uptr frame_address = align_down(fp_image - sizeof(RtSigFrame), uptr(16)) - 8;
    // A frame that would run off the alternate stack: Linux hands back an
    // address that cannot work, so the thread dies with SIGSEGV.
    if ((nested || entering) && !(frame_address > alt->sp && frame_address - alt->sp <= alt->size))
        return Error::from_errno(EFAULT);
    if (!access_ok(frame_address, fp_image + fp_frame_size() - frame_address))
        return Error::from_errno(EFAULT);
    if (!(delivery.flags & SA_RESTORER))
        return Error::from_errno(EFAULT); // x86-64 has no kernel-provided return stub

    u8* image = capture_fpu_image();
    if (!image)
        return Error::from_errno(ENOMEM);
    Free free_image{image};
    TRY(copy_to_user(reinterpret_cast<void*>(fp_image), image, fpu::image_size()));
    if (fpu::uses_xsave())
        TRY(put_user(reinterpret_cast<u32*>(fp_image + fpu::image_size()), FP_XSTATE_MAGIC2));

    RtSigFrame f{};
    f.pretcode = delivery.restorer;
    f.uc.uc_flags = (fpu::uses_xsave() ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    f.uc.uc_link = nullptr;
    if (alt) {
        f.uc.uc_stack.ss_sp = reinterpret_cast<void*>(alt->sp);
        f.uc.uc_stack.ss_flags = static_cast<int>(alt->flags);
        f.uc.uc_stack.ss_size = alt->size;
    }
    uapi::sigcontext& sc = f.uc.uc_mcontext;
    sc.r8 = frame.r8;
    sc.r9 = frame.r9;
    sc.r10 = frame.r10;
    sc.r11 = frame.r11;
    sc.r12 = frame.r12;
    sc.r13 = frame.r13;
    sc.r14 = frame.r14;
    sc.r15 = frame.r15;
    sc.rdi = frame.rdi;
    sc.rsi = frame.rsi;
    sc.rbp = frame.rbp;
    sc.rbx = frame.rbx;
    sc.rdx = frame.rdx;
    sc.rax = frame.rax;
    sc.rcx = frame.rcx;
    sc.rsp = frame.rsp;
    sc.rip = frame.rip;
    sc.eflags = frame.rflags;
    sc.cs = static_cast<u16>(frame.cs);
    sc.ss = static_cast<u16>(frame.ss);
    sc.err = delivery.error_code;
    sc.trapno = delivery.trap_number;
    sc.oldmask = delivery.saved_mask;
    sc.cr2 = delivery.fault_address;
    sc.fpstate = fp_image;
    f.uc.uc_sigmask = delivery.saved_mask;
    if ((delivery.flags & SA_SIGINFO) && delivery.info)
        f.info = *delivery.info;
    TRY(copy_to_user(reinterpret_cast<void*>(frame_address), &f, sizeof f));

    frame.rdi = static_cast<u64>(delivery.signal);
    frame.rax = 0; // for handlers declared without a prototype (varargs)
    frame.rsi = frame_address + __builtin_offsetof(RtSigFrame, info);
    frame.rdx = frame_address + __builtin_offsetof(RtSigFrame, uc);
    frame.rip = delivery.handler;
    frame.rsp = frame_address;
    frame.rflags &= ~(RFLAGS_DF | RFLAGS_RF | RFLAGS_TF);
    frame.cs = gdt::USER_CODE;
    frame.ss = gdt::USER_DATA;
    // Not a syscall frame any more: no restart processing on this return.
    frame.error_code = ~0ul;
    reset_fpu();
    return {};
}

Result<SignalReturn> pop_signal_frame(UserFrame& frame)
{
    uptr frame_address = frame.rsp - 8;
    RtSigFrame f;
    if (!access_ok(frame_address, sizeof f))
        return Error::from_errno(EFAULT);
    TRY(copy_from_user(&f, reinterpret_cast<const void*>(frame_address), sizeof f));
    const uapi::sigcontext& sc = f.uc.uc_mcontext;
    frame.r8 = sc.r8;
    frame.r9 = sc.r9;
    frame.r10 = sc.r10;
    frame.r11 = sc.r11;
    frame.r12 = sc.r12;
    frame.r13 = sc.r13;
    frame.r14 = sc.r14;
    frame.r15 = sc.r15;
    frame.rdi = sc.rdi;
    frame.rsi = sc.rsi;
    frame.rbp = sc.rbp;
    frame.rbx = sc.rbx;
    frame.rdx = sc.rdx;
    frame.rax = sc.rax;
    frame.rcx = sc.rcx;
    frame.rsp = sc.rsp;
    frame.rip = sc.rip;
    frame.rflags = (frame.rflags & ~FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
    // CS and SS stay the user selectors whatever the frame says (sanitize()
    // enforces it again before the return).
    frame.cs = gdt::USER_CODE;
    frame.ss = gdt::USER_DATA;
    frame.error_code = ~0ul; // orig_ax = -1: never restart what sigreturn resumes
    TRY(restore_fpu(sc.fpstate, (f.uc.uc_flags & UC_FP_XSTATE) != 0));
    return SignalReturn{f.uc.uc_sigmask, f.uc.uc_stack};
}

} // namespace user
