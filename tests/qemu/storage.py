"""Shared setup for the storage scenarios: test images in the host's format
(blk_image.py) attached as NVMe and virtio-blk, each with several queues."""
import pathlib
import re
import shutil
import subprocess
import tempfile

import blk_image

IMAGE_BYTES = 64 << 20


def drives(nvme_image, virtio_image=None, smp=2, nvme_file=None, virtio_file=None, nvme_options="",
           virtio_device_options=""):
    """QEMU arguments for an NVMe namespace and (optionally) a virtio-blk disk
    with one queue per CPU. `nvme_file` and `virtio_file` override the
    -drive file= (blkdebug); `nvme_options` are appended to the NVMe -drive,
    `virtio_device_options` to the virtio-blk -device."""
    out = [["-drive", f"file={nvme_file or nvme_image},if=none,id=nvme0drive,format=raw,cache=writeback{nvme_options}",
            "-device", "nvme,serial=sluice0,drive=nvme0drive,max_ioqpairs=16"]]
    if virtio_image:
        out.append(["-drive", f"file={virtio_file or virtio_image},if=none,id=vd0drive,format=raw,cache=writeback",
                    "-device", f"virtio-blk-pci,drive=vd0drive,num-queues={smp}{virtio_device_options}"])
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


def device_table(output):
    """The boot log's block device table: name -> scheduler column."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^  (\S+)\s+\d+:\d+\s+\d+ MiB .* (\S+)$", output, re.M)}


def expect_writes(images, tmp):
    """Copies of the images (device -> path) to rebuild the expected bytes in."""
    expected = {}
    for device, image in images.items():
        expected[device] = f"{tmp}/{device}.expected"
        shutil.copy(image, expected[device])
    return expected


def check_writes(c, r, images, expected, seed2):
    """Apply the ranges ktest blk_write printed to the expected copies and
    compare them with the images QEMU wrote, byte for byte (cmp)."""
    ranges = re.findall(r"^blk_write: range (\S+) (\d+) (\d+)$", r.output, re.M)
    written = {d for d, _, _ in ranges}
    c.check(set(images) <= written, f"{len(ranges)} ranges written on {sorted(written)}")
    for device, sector, count in ranges:
        blk_image.apply_range(expected[device], int(sector), int(count), seed2)
    for device in sorted(written & set(images)):
        same = subprocess.run(["cmp", str(images[device]), expected[device]]).returncode == 0
        c.check(same, f"{device}: image equals the expected bytes (cmp)")
