"""The test image format shared with tests/ktest/BlockDeviceTests.cpp: every
512-byte sector s holds 64 little-endian u64 words: s, seed, then
(s * 0x9E3779B97F4A7C15) ^ (seed + k * 0xBF58476D1CE4E5B9) for k = 2..63."""
import struct

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX = 0xBF58476D1CE4E5B9
SECTOR = 512


def sector_bytes(sector, seed):
    base = (sector * GOLDEN) & MASK
    words = [sector & MASK, seed & MASK]
    words += [base ^ ((seed + k * MIX) & MASK) for k in range(2, 64)]
    return struct.pack("<64Q", *words)


def write_image(path, size_bytes, seed, chunk_sectors=2048):
    with open(path, "wb") as f:
        for first in range(0, size_bytes // SECTOR, chunk_sectors):
            count = min(chunk_sectors, size_bytes // SECTOR - first)
            f.write(b"".join(sector_bytes(s, seed) for s in range(first, first + count)))


def apply_range(path, sector, count, seed):
    """Rewrite `count` sectors from `sector` with the pattern of `seed`."""
    with open(path, "r+b") as f:
        f.seek(sector * SECTOR)
        f.write(b"".join(sector_bytes(s, seed) for s in range(sector, sector + count)))
