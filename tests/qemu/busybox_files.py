#!/usr/bin/env python3
"""Debian's busybox doing file work on ext2, compared with Linux.

One shell script (SCRIPT below: mkdir, cp -r, mv, ln, ln -s, readlink, cat,
stat, find, sort, uniq, head, tr, cut, wc, a seven-applet pipeline, sha256sum, cmp, chmod, touch, truncate, dd, tar, gzip,
rm -r, rmdir, and failing commands with their exit statuses) runs twice with
the same busybox binary: on the host, in a scratch directory with PATH
pointing at busybox applet links, and in Sluice through tools/exec with
`guest:/bin/sh`, its working directory the root of an ext2 image attached as
NVMe. Checks:

  - the script's output and exit status are identical;
  - the guest-only part (df, mount, stat -f of the ext2 mount, dd of the raw
    device's superblock) shows the ext2 filesystem;
  - after power-off `e2fsck -fn` finds the image clean;
  - every regular file the script left behind (the tar archive, which
    records times and directory order, is unpacked, compared and removed
    by the script itself) is byte-identical on the host
    (read back from the image with debugfs) to what the host run produced.
"""
import hashlib
import os
import pathlib
import random
import subprocess
import sys
import tempfile

import scenario

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"

SCRIPT = r"""
echo "== make a tree"
mkdir -p src/deep/er src/empty
echo hello > src/a.txt
printf 'line %s\n' 3 1 2 1 > src/deep/b.txt
dd if=/dev/zero of=src/zero.bin bs=1024 count=300 2>/dev/null
cp seed.bin src/deep/er/seed.bin
echo "mkdir existing: $(mkdir src 2>/dev/null; echo $?)"
echo "== copy, move, link"
cp -r src copy
mv copy/a.txt copy/renamed.txt
mv copy/deep/er copy/er-moved
ln -s deep/b.txt copy/link
ln copy/renamed.txt copy/hard
echo "readlink: $(readlink copy/link)"
echo "cat through link: $(cat copy/link | head -1)"
stat -c '%n size %s links %h type %F mode %a' copy/renamed.txt copy/hard copy/link
stat -c '%n links %h type %F mode %a' copy/deep
echo "== listing"
find . -name lost+found -prune -o -print | sort
ls -1 copy | sort
echo "== contents"
sort copy/deep/b.txt > sorted.txt
sort -u copy/deep/b.txt > unique.txt
cat sorted.txt unique.txt
echo "pipeline: $(cat copy/deep/b.txt | sort | uniq -c | sort -rn | head -2 | tr -s ' ' | cut -d' ' -f2-3 | tr '\n' ';')"
wc -c copy/zero.bin copy/er-moved/seed.bin
sha256sum copy/renamed.txt copy/er-moved/seed.bin src/zero.bin
cmp src/deep/er/seed.bin copy/er-moved/seed.bin && echo "cmp: same"
echo "== attributes"
chmod 600 copy/renamed.txt
stat -c '%n %a' copy/renamed.txt copy/hard
touch -d '2001-02-03 04:05:06' copy/deep/b.txt
stat -c '%n %Y' copy/deep/b.txt
truncate -s 5000 copy/zero.bin
truncate -s 10 copy/er-moved/seed.bin
wc -c copy/zero.bin copy/er-moved/seed.bin
echo "== dd"
dd if=seed.bin of=part.bin bs=4096 skip=3 count=10 2>/dev/null
dd if=seed.bin of=part.bin bs=1000 seek=50 count=7 conv=notrunc 2>/dev/null
sha256sum part.bin
echo "== archives"
tar cf copy.tar copy
tar tf copy.tar | sort
mkdir unpacked
tar xf copy.tar -C unpacked
cmp copy/er-moved/seed.bin unpacked/copy/er-moved/seed.bin && echo "tar round trip: same"
readlink unpacked/copy/link
rm -r unpacked copy.tar
gzip -c seed.bin > seed.gz
gunzip -c seed.gz > seed.back
cmp seed.bin seed.back && echo "gzip round trip: same"
rm seed.back
echo "== remove"
rm copy/hard
stat -c '%n links %h' copy/renamed.txt
rm -r src/deep
rmdir src/empty
echo "rmdir non-empty: $(rmdir copy 2>/dev/null; echo $?)"
echo "rm missing: $(rm nothing 2>/dev/null; echo $?)"
find . -name lost+found -prune -o -print | sort
echo "== done"
"""

GUEST_ONLY = r"""
df -k /mnt > df.out; echo "df fields: $(tail -1 df.out | wc -w)"; rm df.out
mount > mount.out; grep -c ' /mnt type ext2' mount.out; rm mount.out
echo "stat -f type: $(stat -f -c %T /mnt)"
dd if=/dev/nvme0n1 of=super.bin bs=1024 skip=1 count=1 2>/dev/null
echo "superblock magic: $(od -An -tx1 -j56 -N2 super.bin)"
rm super.bin
"""


def run_host(script, work):
    applets = work / "applets"
    applets.mkdir()
    names = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        (applets / name).symlink_to(BUSYBOX)
    cwd = work / "host"
    cwd.mkdir()
    (cwd / "seed.bin").write_bytes((work / "seed.bin").read_bytes())
    env = {"PATH": str(applets), "HOME": "/", "TERM": "vt100", "TZ": "UTC"}
    r = subprocess.run([BUSYBOX, "sh", "-c", script], cwd=cwd, env=env, capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    return r, cwd


def main():
    p = scenario.arguments(__doc__)
    a = p.parse_args()
    c = scenario.Checks(f"busybox_files smp={a.smp}")
    with tempfile.TemporaryDirectory(prefix="sluice-busybox-") as tmp:
        work = pathlib.Path(tmp)
        seed = random.Random(8).randbytes(2 * 1024 * 1024 + 123)
        (work / "seed.bin").write_bytes(seed)
        tree = work / "tree"
        tree.mkdir()
        (tree / "seed.bin").write_bytes(seed)
        image = work / "ext2.img"
        subprocess.run(["mkfs.ext2", "-q", "-F", "-b", "1024", "-d", str(tree), str(image), "64M"], check=True)

        host, host_dir = run_host(SCRIPT, work)
        c.check(host.returncode == 0, f"the script runs on the host (status {host.returncode})")

        log = work / "kernel.log"
        guest = subprocess.run([str(ROOT / "tools/exec"), "--build-dir", a.build_dir, "--smp", str(a.smp),
                                "--nvme", str(image), "--mount", "nvme0n1:/mnt", "--cwd", "/mnt",
                                "--env", "TZ=UTC", "--timeout", str(a.timeout), "--log", str(log), "--",
                                "guest:/bin/sh", "-c", SCRIPT + GUEST_ONLY],
                               capture_output=True, stdin=subprocess.DEVNULL, timeout=a.timeout + 60)
        host_lines = host.stdout.decode(errors="replace").splitlines()
        guest_lines = guest.stdout.decode(errors="replace").splitlines()
        common = guest_lines[:len(host_lines)]
        same = common == host_lines
        c.check(same, f"the script prints the same {len(host_lines)} lines as on Linux")
        if not same:
            import difflib
            print("\n".join(difflib.unified_diff(host_lines, common, "Linux", "Sluice", lineterm="")))
            print("--- stderr on Sluice ---")
            print(guest.stderr.decode(errors="replace")[-3000:])
        c.check(guest.returncode == 0, f"exit status 0 in Sluice (got {guest.returncode})")
        extra = guest_lines[len(host_lines):]
        print("guest-only part:\n  " + "\n  ".join(extra))
        c.check("df fields: 6" in extra, "df reports the ext2 mount")
        c.check("1" in extra, "mount lists /mnt as ext2")
        c.check("stat -f type: ext2/ext3" in extra, "stat -f sees ext2's magic")
        c.check("superblock magic:  53 ef" in extra, "dd reads the ext2 superblock from /dev/nvme0n1")

        fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
        c.check(fsck.returncode == 0, "e2fsck -fn finds the image clean")
        if fsck.returncode:
            print(fsck.stdout[-3000:])

        files = sorted(q for q in host_dir.rglob("*") if q.is_file() and not q.is_symlink())
        mismatched = []
        for path in files:
            relative = path.relative_to(host_dir)
            out = work / "dumped"
            subprocess.run(["debugfs", "-R", f"dump /{relative} {out}", str(image)], capture_output=True)
            data = out.read_bytes() if out.exists() else None
            if data is None or hashlib.sha256(data).digest() != hashlib.sha256(path.read_bytes()).digest():
                mismatched.append(str(relative))
            if out.exists():
                out.unlink()
        c.check(files and not mismatched,
                f"{len(files)} files read back from the image with debugfs equal the host's"
                + (f" (differ: {', '.join(mismatched)})" if mismatched else ""))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
