"""Shared setup for the storage scenarios: test images in the host's format
(blk_image.py) attached as NVMe and virtio-blk, each with several queues."""
import pathlib
import re
import tempfile

import blk_image

IMAGE_BYTES = 64 << 20


def drives(nvme_image, virtio_image=None, smp=2, nvme_file=None):
    """QEMU arguments for an NVMe namespace and (optionally) a virtio-blk disk
    with one queue per CPU. `nvme_file` overrides the -drive file= (blkdebug)."""
    out = [["-drive", f"file={nvme_file or nvme_image},if=none,id=nvme0drive,format=raw,cache=writeback",
            "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=16"]]
    if virtio_image:
        out.append(["-drive", f"file={virtio_image},if=none,id=vd0drive,format=raw,cache=writeback",
                    "-device", f"virtio-blk-pci,drive=vd0drive,num-queues={smp}"])
    return out


def ktest_summary(output):
    m = re.search(r"^ktest: (\d+) passed, (\d+) failed$", output, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_ktests(c, r):
    c.check(not r.timed_out, "guest finished before the timeout")
    s = ktest_summary(r.output)
    c.check(s is not None and s[0] > 0 and s[1] == 0, f"ktests passed ({s})")
    c.check(r.status == 0, f"QEMU exit status says passed (status {r.status})")
    c.check("Kernel panic" not in r.output and "EXCEPTION" not in r.output, "no panic")


def tempdir():
    return tempfile.TemporaryDirectory(prefix="sluice-storage-")


def make_images(directory, seed):
    nvme = pathlib.Path(directory) / "nvme.img"
    virtio = pathlib.Path(directory) / "virtio.img"
    blk_image.write_image(nvme, IMAGE_BYTES, seed)
    blk_image.write_image(virtio, IMAGE_BYTES, seed)
    return nvme, virtio
