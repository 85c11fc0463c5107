// The virtio block device (virtio 1.2 §5.2): feature bits, the device
// configuration layout, and the request format.
#pragma once

#include "kernel/lib/Types.h"

namespace virtio::blk {

// §5.2.3 Feature bits.
constexpr unsigned FEATURE_SIZE_MAX = 1; // size_max: largest single segment
constexpr unsigned FEATURE_SEG_MAX = 2; // seg_max: most data segments per request
constexpr unsigned FEATURE_GEOMETRY = 4;
constexpr unsigned FEATURE_RO = 5; // the device is read-only
constexpr unsigned FEATURE_BLK_SIZE = 6; // blk_size: logical block size
constexpr unsigned FEATURE_FLUSH = 9; // VIRTIO_BLK_T_FLUSH exists (volatile write cache)
constexpr unsigned FEATURE_TOPOLOGY = 10;
constexpr unsigned FEATURE_CONFIG_WCE = 11;
constexpr unsigned FEATURE_MQ = 12; // num_queues request queues
constexpr unsigned FEATURE_DISCARD = 13;
constexpr unsigned FEATURE_WRITE_ZEROES = 14;
constexpr unsigned FEATURE_LIFETIME = 15;
constexpr unsigned FEATURE_SECURE_ERASE = 16;

// §5.2.4 Device configuration layout. Fields past `capacity` are valid only
// when their feature bit was offered; the struct stops after the secure-erase
// fields (the end of the layout this driver knows).
struct Geometry {
    u16 cylinders;
    u8 heads;
    u8 sectors;
};
static_assert(sizeof(Geometry) == 4);

struct Topology {
    u8 physical_block_exp; // log2(physical block / logical block)
    u8 alignment_offset; // in logical blocks
    u16 min_io_size; // in logical blocks
    u32 opt_io_size; // in logical blocks
};
static_assert(sizeof(Topology) == 8);

struct Config {
    u64 capacity; // in 512-byte sectors, whatever blk_size says
    u32 size_max;
    u32 seg_max;
    Geometry geometry;
    u32 blk_size;
    Topology topology;
    u8 writeback;
    u8 unused0;
    u16 num_queues;
    u32 max_discard_sectors;
    u32 max_discard_seg;
    u32 discard_sector_alignment;
    u32 max_write_zeroes_sectors;
    u32 max_write_zeroes_seg;
    u8 write_zeroes_may_unmap;
    u8 unused1[3];
    u32 max_secure_erase_sectors;
    u32 max_secure_erase_seg;
    u32 secure_erase_sector_alignment;
};
static_assert(sizeof(Config) == 72);
static_assert(__builtin_offsetof(Config, size_max) == 8);
static_assert(__builtin_offsetof(Config, seg_max) == 12);
static_assert(__builtin_offsetof(Config, blk_size) == 20);
static_assert(__builtin_offsetof(Config, topology) == 24);
static_assert(__builtin_offsetof(Config, writeback) == 32);
static_assert(__builtin_offsetof(Config, num_queues) == 34);
static_assert(__builtin_offsetof(Config, max_discard_sectors) == 36);
static_assert(__builtin_offsetof(Config, max_secure_erase_sectors) == 60);

// §5.2.6: sector numbers in requests are always in 512-byte units.
constexpr u32 SECTOR_SIZE = 512;
constexpr u32 SECTOR_SHIFT = 9;

// §5.2.6 Device Operation: request types.
enum RequestType : u32 {
    REQUEST_IN = 0, // read
    REQUEST_OUT = 1, // write
    REQUEST_FLUSH = 4,
    REQUEST_GET_ID = 8,
    REQUEST_GET_LIFETIME = 10,
    REQUEST_DISCARD = 11,
    REQUEST_WRITE_ZEROES = 13,
    REQUEST_SECURE_ERASE = 14,
};

// §5.2.6: every request starts with this device-readable header, then the
// data buffers, then one device-writable status byte.
struct RequestHeader {
    u32 type; // RequestType
    u32 reserved; // "ioprio" in legacy devices; 0
    u64 sector; // first 512-byte sector (0 for flush)
};
static_assert(sizeof(RequestHeader) == 16);

// §5.2.6: the status byte the device writes last.
enum RequestStatus : u8 {
    STATUS_OK = 0,
    STATUS_IOERR = 1,
    STATUS_UNSUPP = 2,
};

} // namespace virtio::blk
