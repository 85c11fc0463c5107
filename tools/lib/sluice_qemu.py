"""Boot Sluice in QEMU from the host: build an ISO for a command line, run it
with a hard timeout, stream and capture the serial console, map the exit status.

Used by tools/qemu (the command-line launcher), tools/run and tests/qemu.
"""
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

# isa-debug-exit: the guest writes v, QEMU exits with (v << 1) | 1.
EXIT_PASSED = 1
EXIT_FAILED = 3
TIMEOUT_STATUS = 124

# The CPU model every launcher uses: "max" is everything the accelerator can
# give. QEMU's default (qemu64) lacks SMEP, SMAP, XSAVE and RDRAND, which user
# mode relies on (docs/USERMODE.md, "The machine"); under KVM "max" is the
# host's CPU.
CPU_MODEL = "max"


class Result:
    def __init__(self, status, output, timed_out, qemu_status, ports=None):
        self.status = status          # 0 passed / powered off, 1 failed, 124 timeout, else QEMU's
        self.output = output          # the kernel log's serial port, as text
        self.timed_out = timed_out
        self.qemu_status = qemu_status
        self.ports = ports or {}      # the other serial ports: index -> bytes, exactly as sent

    @property
    def passed(self):
        return self.status == 0


def build_iso(build_dir, cmdline, out, modules=()):
    build_dir = pathlib.Path(build_dir)
    args = [str(ROOT / "tools/mkiso"), "--kernel", str(build_dir / "kernel.elf"),
            "--symbols", str(build_dir / "kernel.sym"), "--out", str(out), "--cmdline", cmdline]
    for name, path in modules:
        args += ["--module", f"{name}={path}"]
    subprocess.run(args, check=True)


def kvm_usable(build_dir):
    """KVM only when a bounded probe boots Sluice with it; the answer is cached."""
    if os.environ.get("SLUICE_ACCEL") in ("tcg", "kvm"):
        return os.environ["SLUICE_ACCEL"] == "kvm"
    cache = pathlib.Path(build_dir) / ".kvm-probe"
    if cache.exists():
        return cache.read_text().strip() == "kvm"
    usable = False
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        with tempfile.TemporaryDirectory() as tmp:
            iso = pathlib.Path(tmp) / "probe.iso"
            try:
                build_iso(build_dir, "ktest=none", iso)
                r = subprocess.run(_qemu_args(iso, smp=1, mem="256M", accel="kvm"),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=15)
                usable = r.returncode == EXIT_PASSED
            except (subprocess.TimeoutExpired, subprocess.CalledProcessError):
                usable = False
    cache.write_text("kvm" if usable else "tcg")
    return usable


def log_port(cmdline):
    """The serial port index the kernel log goes to: `log=ttySN` (default 0)."""
    m = re.search(r"(?:^|\s)log=ttyS(\d)(?:\s|$)", cmdline)
    return int(m.group(1)) if m else 0


def _serial_args(log_index, port_count, port_dir):
    """One -serial per port up to the last one used: the log's port on stdio,
    the others into files under port_dir (QEMU numbers them ttyS0, ttyS1, ...)."""
    if log_index == 0 and port_count <= 1:
        return []  # -nographic alone: ttyS0 on stdio
    args = []
    for i in range(max(port_count, log_index + 1)):
        args += ["-serial", "mon:stdio" if i == log_index else f"file:{port_dir}/ttyS{i}"]
    return args


def _qemu_args(iso, smp, mem, accel, drives=(), extra=(), serial=()):
    # -nographic puts the first serial port (or the one given mon:stdio) on stdio.
    args = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-cpu", CPU_MODEL,
            "-smp", str(smp), "-m", mem, "-nographic", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-cdrom", str(iso), "-boot", "d", "-nic", "none"] + list(serial)
    for d in drives:
        args += list(d)
    return args + list(extra)


def null_disks(smp):
    """NVMe and virtio-blk on QEMU's null backend (reads return zeroes, writes
    are dropped): the configuration of the Linux baseline (shared/baseline)."""
    return [
        ["-drive", "file=null-co://,if=none,id=nvm,format=raw,file.read-zeroes=on,file.size=4G",
         "-device", "nvme,serial=deadbeef,drive=nvm"],
        ["-drive", "file=null-co://,if=none,id=vd,format=raw,file.read-zeroes=on,file.size=4G",
         "-device", f"virtio-blk-pci,drive=vd,num-queues={smp}"],
    ]


def run(build_dir, cmdline="", smp=2, mem="512M", timeout=120, drives=(), extra=(),
        modules=(), echo=True, kill_on=None, on_line=None, accel=None, tcg_thread=None, serial_ports=1):
    """Boot an ISO for `cmdline`; return a Result. `kill_on` ends QEMU (SIGKILL)
    as soon as that text appears on the console, as a power cut would.

    The kernel log is read from the port `log=ttySN` names (ttyS0 without
    it); QEMU gets a serial port for each of ttyS0..ttyS<max(N, serial_ports - 1)>,
    and what the guest wrote to the others is in Result.ports.

    tcg_thread: "single" runs every vCPU in one host thread, round robin;
    "multi" (QEMU's default) gives each vCPU its own host thread. Tests use
    single: with more vCPUs than host cores, multi-threaded TCG lets a vCPU
    spin for a whole host time slice on a lock whose holder is descheduled,
    which made cross-CPU tests 3-20x slower and their timing erratic. But
    QEMU 7.2 drops guest memory barriers in single mode while its device
    models run in other host threads, which can stall virtio and NVMe queues:
    scenarios with disks use multi (tests/qemu/scenario.py), as do the
    benchmarks and the Linux baseline. The SLUICE_TCG_THREAD environment
    variable overrides either."""
    build_dir = pathlib.Path(build_dir)
    if accel is None:
        accel = "kvm" if kvm_usable(build_dir) else "tcg"
    tcg_thread = os.environ.get("SLUICE_TCG_THREAD", tcg_thread)
    if accel == "tcg" and tcg_thread in ("single", "multi"):
        accel = f"tcg,thread={tcg_thread}"
    with tempfile.TemporaryDirectory() as tmp:
        iso = pathlib.Path(tmp) / "sluice.iso"
        build_iso(build_dir, cmdline, iso, modules)
        log_index = log_port(cmdline)
        args = _qemu_args(iso, smp, mem, accel, drives, extra, _serial_args(log_index, serial_ports, tmp))
        if echo:
            print("+ " + " ".join(args), file=sys.stderr, flush=True)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        output = bytearray()
        started = time.monotonic()
        deadline = started + timeout
        timed_out = killed = False
        pending = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                proc.kill()
                break
            ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.5))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            output += chunk
            if echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").rstrip("\r")
                if on_line:
                    on_line(text)
                if kill_on and kill_on in text:
                    proc.kill()
                    killed = True
            if killed:
                break
        proc.wait()
        text = output.decode(errors="replace").replace("\r\n", "\n")
        ports = {}
        for i in range(max(serial_ports, log_index + 1)):
            path = pathlib.Path(tmp) / f"ttyS{i}"
            if i != log_index and path.exists():
                ports[i] = path.read_bytes()
        if timed_out:
            print(f"\n*** QEMU timed out: {time.monotonic() - started:.1f} s elapsed, limit {timeout} s ***",
                  file=sys.stderr)
            if not echo:
                print("--- last console lines ---\n" + "\n".join(text.splitlines()[-40:]), file=sys.stderr)
            return Result(TIMEOUT_STATUS, text, True, proc.returncode, ports)
        q = proc.returncode
        if killed:
            status = 0
        elif q == EXIT_PASSED:
            status = 0
        elif q == 0:
            # ACPI power-off, or a triple fault with -no-reboot: tell them apart
            # by the kernel's last words.
            status = 0 if "power: powering off" in text else 2
        elif q == EXIT_FAILED:
            status = 1
        else:
            status = q if q else 1
        return Result(status, text, False, q, ports)


def symbolize(build_dir, text):
    """Append file:line (addr2line) to every backtrace address in `text`."""
    tool = ROOT / "tools/symbolize"
    r = subprocess.run([sys.executable, str(tool), "--kernel", str(pathlib.Path(build_dir) / "kernel.elf")],
                       input=text, capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else text
