"""Build static musl programs from tests/qemu/user/*.c on the host and pack
them into an initramfs (cpio newc) for user-mode scenarios.

Two link modes, both static: "static" (ET_EXEC, musl-gcc -static) and
"static-pie" (ET_DYN without an interpreter, linked by hand from musl's
rcrt1.o, since Debian's musl-gcc spec file does not know -static-pie)."""
import os
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = HERE / "user"
MUSL_LIB = pathlib.Path("/usr/lib/x86_64-linux-musl")


def _gcc_file(name):
    return subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True,
                          check=True).stdout.strip()


def build(source, out, mode="static", extra=()):
    """Compile tests/qemu/user/<source> into `out`."""
    src = SOURCES / source
    if mode == "static":
        subprocess.run(["musl-gcc", "-static", "-O2", "-o", str(out), str(src), *extra], check=True)
    elif mode == "static-pie":
        obj = pathlib.Path(str(out) + ".o")
        subprocess.run(["musl-gcc", "-fPIE", "-O2", "-c", "-o", str(obj), str(src)], check=True)
        libgcc = subprocess.run(["gcc", "-print-libgcc-file-name"], capture_output=True, text=True,
                                check=True).stdout.strip()
        subprocess.run(["gcc", "-static-pie", "-nostdlib", "-o", str(out), str(MUSL_LIB / "rcrt1.o"),
                        str(MUSL_LIB / "crti.o"), _gcc_file("crtbeginS.o"), str(obj), *extra,
                        f"-L{MUSL_LIB}", "-lc", libgcc, _gcc_file("crtendS.o"), str(MUSL_LIB / "crtn.o")],
                       check=True)
        obj.unlink()
    else:
        raise ValueError(mode)
    return out


def pack(root, archive):
    """cpio newc of the directory `root` into `archive`."""
    names = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
    with open(archive, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=names.encode(), stdout=f,
                       check=True)
    return archive
