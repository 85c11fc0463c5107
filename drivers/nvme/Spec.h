// NVMe wire formats: controller registers, submission/completion queue
// entries, Identify data structures, opcodes and status codes.
//
// Section numbers refer to the NVM Express Base Specification 1.4 ("1.4 §x")
// unless marked 2.0; the layouts used here are identical in both revisions.
// Every structure the controller reads or writes by DMA is size- and
// offset-checked below, so a layout slip fails the build, not the device.
#pragma once

#include "kernel/lib/Types.h"

namespace nvme {

// ---------------------------------------------------------------------------
// Controller registers (1.4 §3.1, BAR0)
// ---------------------------------------------------------------------------
namespace reg {
constexpr u32 CAP = 0x00;   // Controller Capabilities, 64-bit (§3.1.1)
constexpr u32 VS = 0x08;    // Version (§3.1.2)
constexpr u32 INTMS = 0x0c; // Interrupt Mask Set (§3.1.3)
constexpr u32 INTMC = 0x10; // Interrupt Mask Clear (§3.1.4)
constexpr u32 CC = 0x14;    // Controller Configuration (§3.1.5)
constexpr u32 CSTS = 0x1c;  // Controller Status (§3.1.6)
constexpr u32 NSSR = 0x20;  // NVM Subsystem Reset (§3.1.7)
constexpr u32 AQA = 0x24;   // Admin Queue Attributes (§3.1.8)
constexpr u32 ASQ = 0x28;   // Admin SQ Base Address, 64-bit (§3.1.9)
constexpr u32 ACQ = 0x30;   // Admin CQ Base Address, 64-bit (§3.1.10)
constexpr u32 DOORBELL_BASE = 0x1000; // SQ0TDBL; then CQ0HDBL, SQ1TDBL, ... (§3.1.24-25)
} // namespace reg

// The byte offset of queue `qid`'s SQ tail / CQ head doorbell, given
// CAP.DSTRD (doorbells are (4 << DSTRD) bytes apart, §3.1.24).
// Computed in 64 bits: with DSTRD up to 15 and qid up to 65535 the offset
// does not fit 32 bits, and a wrapped value would look in range.
constexpr u64 sq_tail_doorbell_offset(u16 qid, u32 dstrd)
{
    return reg::DOORBELL_BASE + (2ul * qid) * (4ul << (dstrd & 0xf));
}
constexpr u64 cq_head_doorbell_offset(u16 qid, u32 dstrd)
{
    return reg::DOORBELL_BASE + (2ul * qid + 1ul) * (4ul << (dstrd & 0xf));
}
// Does the 32-bit doorbell at `offset` lie inside a BAR0 of `bar_bytes`?
// CAP.DSTRD comes from the device; it is not trusted to match its BAR.
constexpr bool doorbell_in_bar(u64 offset, u64 bar_bytes) { return bar_bytes >= 4 && offset <= bar_bytes - 4; }

// CAP (1.4 §3.1.1).
class CapabilityReg {
public:
    explicit constexpr CapabilityReg(u64 raw) : m_raw(raw) { }
    constexpr u64 raw() const { return m_raw; }
    // MQES is 0's based: the largest queue has MQES + 1 entries.
    constexpr u32 max_queue_entries() const { return static_cast<u32>(m_raw & 0xffff) + 1; }
    constexpr bool contiguous_queues_required() const { return (m_raw >> 16) & 1; }
    // TO: worst-case time for CSTS.RDY to follow CC.EN, in 500 ms units.
    constexpr u64 ready_timeout_ms() const { return ((m_raw >> 24) & 0xff) * 500; }
    constexpr u32 doorbell_stride_shift() const { return static_cast<u32>((m_raw >> 32) & 0xf); }
    constexpr bool nvm_command_set() const { return (m_raw >> 37) & 1; } // CSS bit 0
    // MPSMIN/MPSMAX: memory page size is 2^(12 + MPS).
    constexpr u32 min_page_shift() const { return 12 + static_cast<u32>((m_raw >> 48) & 0xf); }
    constexpr u32 max_page_shift() const { return 12 + static_cast<u32>((m_raw >> 52) & 0xf); }

private:
    u64 m_raw;
};

// CC (1.4 §3.1.5).
namespace cc {
constexpr u32 EN = 1u << 0;
constexpr u32 CSS_NVM = 0u << 4;
constexpr u32 MPS_SHIFT = 7;           // memory page size = 2^(12 + MPS)
constexpr u32 AMS_ROUND_ROBIN = 0u << 11;
constexpr u32 SHN_MASK = 3u << 14;
constexpr u32 SHN_NORMAL = 1u << 14;   // normal shutdown notification (§7.6.2)
constexpr u32 SHN_ABRUPT = 2u << 14;
constexpr u32 IOSQES_SHIFT = 16;       // log2(SQ entry size) = 6
constexpr u32 IOCQES_SHIFT = 20;       // log2(CQ entry size) = 4
} // namespace cc

// CSTS (1.4 §3.1.6).
namespace csts {
constexpr u32 RDY = 1u << 0;
constexpr u32 CFS = 1u << 1; // controller fatal status
constexpr u32 SHST_MASK = 3u << 2;
constexpr u32 SHST_COMPLETE = 2u << 2; // shutdown processing complete
} // namespace csts

// AQA (1.4 §3.1.8): both sizes 0's based.
constexpr u32 aqa_value(u32 sq_entries, u32 cq_entries)
{
    return ((cq_entries - 1) << 16) | (sq_entries - 1);
}

constexpr u32 SQE_SIZE_SHIFT = 6; // 64-byte submission entries
constexpr u32 CQE_SIZE_SHIFT = 4; // 16-byte completion entries
constexpr u32 ADMIN_QUEUE_ID = 0;

// ---------------------------------------------------------------------------
// Submission Queue Entry (1.4 §4.2, Figure 105/106)
// ---------------------------------------------------------------------------
struct SubmissionEntry {
    u8 opcode;       // CDW0 bits 7:0
    u8 flags;        // CDW0 bits 15:8: FUSE 9:8, PSDT 15:14 (00b = PRPs)
    u16 command_id;  // CDW0 bits 31:16 (CID); Sluice uses the block-layer tag
    u32 nsid;        // CDW1
    u32 cdw2;
    u32 cdw3;
    u64 metadata;    // MPTR
    u64 prp1;        // DPTR: PRP entry 1
    u64 prp2;        // DPTR: PRP entry 2 or PRP list pointer
    u32 cdw10;
    u32 cdw11;
    u32 cdw12;
    u32 cdw13;
    u32 cdw14;
    u32 cdw15;
};
static_assert(sizeof(SubmissionEntry) == 64);
static_assert(__builtin_offsetof(SubmissionEntry, command_id) == 2);
static_assert(__builtin_offsetof(SubmissionEntry, nsid) == 4);
static_assert(__builtin_offsetof(SubmissionEntry, metadata) == 16);
static_assert(__builtin_offsetof(SubmissionEntry, prp1) == 24);
static_assert(__builtin_offsetof(SubmissionEntry, prp2) == 32);
static_assert(__builtin_offsetof(SubmissionEntry, cdw10) == 40);
static_assert(__builtin_offsetof(SubmissionEntry, cdw15) == 60);

// ---------------------------------------------------------------------------
// Completion Queue Entry (1.4 §4.6, Figure 124)
// ---------------------------------------------------------------------------
struct CompletionEntry {
    u32 result;       // DW0: command specific
    u32 dw1;
    u16 sq_head;      // DW2: SQ head pointer as consumed by the controller
    u16 sq_id;
    u16 command_id;   // DW3 bits 15:0
    u16 status;       // DW3 bits 31:16: bit 0 phase tag, 15:1 status field (§4.6.1)

    bool phase() const { return status & 1; }
    // Status field without the phase bit: SC in bits 7:0, SCT in 10:8, CRD 12:11,
    // M 13, DNR 14 (§4.6.1.1, Figure 126).
    u16 status_field() const { return static_cast<u16>(status >> 1); }
};
static_assert(sizeof(CompletionEntry) == 16);
static_assert(__builtin_offsetof(CompletionEntry, sq_head) == 8);
static_assert(__builtin_offsetof(CompletionEntry, command_id) == 12);
static_assert(__builtin_offsetof(CompletionEntry, status) == 14);

// Status field decoding (1.4 §4.6.1.1).
namespace status {
constexpr u16 code(u16 field) { return field & 0xff; }
constexpr u16 type(u16 field) { return (field >> 8) & 0x7; }
constexpr bool do_not_retry(u16 field) { return (field >> 14) & 1; }
constexpr u16 make(u16 type, u16 code) { return static_cast<u16>((type << 8) | code); }

// Status code types (§4.6.1.1.1).
constexpr u16 TYPE_GENERIC = 0x0;
constexpr u16 TYPE_COMMAND_SPECIFIC = 0x1;
constexpr u16 TYPE_MEDIA = 0x2;
constexpr u16 TYPE_PATH = 0x3;

// Generic command status (§4.6.1.2.1, Figure 128), as full (type, code) values.
constexpr u16 SUCCESS = make(TYPE_GENERIC, 0x00);
constexpr u16 INVALID_OPCODE = make(TYPE_GENERIC, 0x01);
constexpr u16 INVALID_FIELD = make(TYPE_GENERIC, 0x02);
constexpr u16 COMMAND_ID_CONFLICT = make(TYPE_GENERIC, 0x03);
constexpr u16 DATA_TRANSFER_ERROR = make(TYPE_GENERIC, 0x04);
constexpr u16 ABORTED_POWER_LOSS = make(TYPE_GENERIC, 0x05);
constexpr u16 INTERNAL_ERROR = make(TYPE_GENERIC, 0x06);
constexpr u16 ABORT_REQUESTED = make(TYPE_GENERIC, 0x07);
constexpr u16 ABORTED_SQ_DELETION = make(TYPE_GENERIC, 0x08);
constexpr u16 INVALID_NAMESPACE = make(TYPE_GENERIC, 0x0b);
constexpr u16 COMMAND_SEQUENCE_ERROR = make(TYPE_GENERIC, 0x0c);
constexpr u16 INVALID_PRP_OFFSET = make(TYPE_GENERIC, 0x13);
// NVM command set generic status (§4.6.1.2.1, 80h-FFh).
constexpr u16 LBA_OUT_OF_RANGE = make(TYPE_GENERIC, 0x80);
constexpr u16 CAPACITY_EXCEEDED = make(TYPE_GENERIC, 0x81);
constexpr u16 NAMESPACE_NOT_READY = make(TYPE_GENERIC, 0x82);
constexpr u16 RESERVATION_CONFLICT = make(TYPE_GENERIC, 0x83);

// Command specific status (§4.6.1.2.2, Figure 129).
constexpr u16 INVALID_COMPLETION_QUEUE = make(TYPE_COMMAND_SPECIFIC, 0x00);
constexpr u16 INVALID_QUEUE_ID = make(TYPE_COMMAND_SPECIFIC, 0x01);
constexpr u16 INVALID_QUEUE_SIZE = make(TYPE_COMMAND_SPECIFIC, 0x02);
constexpr u16 ABORT_LIMIT_EXCEEDED = make(TYPE_COMMAND_SPECIFIC, 0x03);
constexpr u16 INVALID_INTERRUPT_VECTOR = make(TYPE_COMMAND_SPECIFIC, 0x08);
constexpr u16 ATTEMPTED_WRITE_TO_READ_ONLY = make(TYPE_COMMAND_SPECIFIC, 0x82);

// Media and data integrity errors (§4.6.1.2.3, Figure 130).
constexpr u16 WRITE_FAULT = make(TYPE_MEDIA, 0x80);
constexpr u16 UNRECOVERED_READ_ERROR = make(TYPE_MEDIA, 0x81);
constexpr u16 GUARD_CHECK_ERROR = make(TYPE_MEDIA, 0x82);
constexpr u16 APPLICATION_TAG_CHECK_ERROR = make(TYPE_MEDIA, 0x83);
constexpr u16 REFERENCE_TAG_CHECK_ERROR = make(TYPE_MEDIA, 0x84);
constexpr u16 COMPARE_FAILURE = make(TYPE_MEDIA, 0x85);
constexpr u16 ACCESS_DENIED = make(TYPE_MEDIA, 0x86);
constexpr u16 DEALLOCATED_OR_UNWRITTEN = make(TYPE_MEDIA, 0x87);
} // namespace status

// ---------------------------------------------------------------------------
// Opcodes
// ---------------------------------------------------------------------------
namespace admin {
constexpr u8 DELETE_IO_SQ = 0x00;          // §5.6
constexpr u8 CREATE_IO_SQ = 0x01;          // §5.4
constexpr u8 GET_LOG_PAGE = 0x02;          // §5.14
constexpr u8 DELETE_IO_CQ = 0x04;          // §5.5
constexpr u8 CREATE_IO_CQ = 0x05;          // §5.3
constexpr u8 IDENTIFY = 0x06;              // §5.15
constexpr u8 ABORT = 0x08;                 // §5.1
constexpr u8 SET_FEATURES = 0x09;          // §5.21
constexpr u8 GET_FEATURES = 0x0a;          // §5.13
constexpr u8 DOORBELL_BUFFER_CONFIG = 0x7c; // §5.8
} // namespace admin

namespace io {
constexpr u8 FLUSH = 0x00; // NVM command set §6.8
constexpr u8 WRITE = 0x01; // §6.15
constexpr u8 READ = 0x02;  // §6.9
// CDW12 of Read/Write (§6.9.1): NLB 15:0 (0's based), FUA bit 30.
constexpr u32 RW_FUA = 1u << 30;
} // namespace io

// Identify CNS values (§5.15.1, Figure 244).
namespace cns {
constexpr u32 NAMESPACE = 0x00;
constexpr u32 CONTROLLER = 0x01;
constexpr u32 ACTIVE_NAMESPACE_LIST = 0x02;
} // namespace cns

// Feature identifiers (§5.21.1).
namespace feature {
constexpr u32 NUMBER_OF_QUEUES = 0x07;       // §5.21.1.7: CDW11/DW0 NCQR 31:16, NSQR 15:0, 0's based
constexpr u32 INTERRUPT_COALESCING = 0x08;
} // namespace feature

// Create I/O Completion Queue CDW11 (§5.3): IV 31:16, IEN bit 1, PC bit 0.
constexpr u32 CREATE_CQ_PHYS_CONTIG = 1u << 0;
constexpr u32 CREATE_CQ_IRQ_ENABLED = 1u << 1;
// Create I/O Submission Queue CDW11 (§5.4): CQID 31:16, QPRIO 2:1, PC bit 0.
constexpr u32 CREATE_SQ_PHYS_CONTIG = 1u << 0;

// OACS bit 8: Doorbell Buffer Config supported (§5.15.2.1, Figure 247).
constexpr u16 OACS_DOORBELL_BUFFER_CONFIG = 1u << 8;
// VWC bit 0: a volatile write cache is present, so Flush matters.
constexpr u8 VWC_PRESENT = 1u << 0;

// ---------------------------------------------------------------------------
// Identify Controller data structure (1.4 §5.15.2.1, Figure 247), 4096 bytes
// ---------------------------------------------------------------------------
struct IdentifyController {
    u16 vid;               // 0
    u16 ssvid;             // 2
    char sn[20];           // 4: serial number, ASCII, space padded
    char mn[40];           // 24: model number
    char fr[8];            // 64: firmware revision
    u8 rab;                // 72
    u8 ieee[3];            // 73
    u8 cmic;               // 76
    u8 mdts;               // 77: max transfer = 2^MDTS * CAP.MPSMIN pages, 0 = no limit
    u16 cntlid;            // 78
    u32 ver;               // 80
    u32 rtd3r;             // 84
    u32 rtd3e;             // 88
    u32 oaes;              // 92
    u32 ctratt;            // 96
    u8 reserved100[156];   // 100..255
    u16 oacs;              // 256: optional admin command support
    u8 acl;                // 258: abort command limit, 0's based
    u8 aerl;               // 259
    u8 frmw;               // 260
    u8 lpa;                // 261
    u8 elpe;               // 262
    u8 npss;               // 263
    u8 avscc;              // 264
    u8 apsta;              // 265
    u16 wctemp;            // 266
    u16 cctemp;            // 268
    u8 reserved270[242];   // 270..511
    u8 sqes;               // 512: bits 3:0 required, 7:4 maximum SQ entry size (log2)
    u8 cqes;               // 513
    u16 maxcmd;            // 514
    u32 nn;                // 516: number of namespaces (highest NSID)
    u16 oncs;              // 520: optional NVM command support
    u16 fuses;             // 522
    u8 fna;                // 524
    u8 vwc;                // 525: volatile write cache
    u16 awun;              // 526
    u16 awupf;             // 528
    u8 nvscc;              // 530
    u8 nwpc;               // 531
    u16 acwu;              // 532
    u16 reserved534;       // 534
    u32 sgls;              // 536
    u32 mnan;              // 540
    u8 reserved544[224];   // 544..767
    char subnqn[256];      // 768
    u8 reserved1024[1024]; // 1024..2047
    u8 psd[32][32];        // 2048: power state descriptors
    u8 vs[1024];           // 3072: vendor specific
};
static_assert(sizeof(IdentifyController) == 4096);
static_assert(__builtin_offsetof(IdentifyController, mn) == 24);
static_assert(__builtin_offsetof(IdentifyController, fr) == 64);
static_assert(__builtin_offsetof(IdentifyController, mdts) == 77);
static_assert(__builtin_offsetof(IdentifyController, ver) == 80);
static_assert(__builtin_offsetof(IdentifyController, oacs) == 256);
static_assert(__builtin_offsetof(IdentifyController, acl) == 258);
static_assert(__builtin_offsetof(IdentifyController, sqes) == 512);
static_assert(__builtin_offsetof(IdentifyController, nn) == 516);
static_assert(__builtin_offsetof(IdentifyController, oncs) == 520);
static_assert(__builtin_offsetof(IdentifyController, vwc) == 525);
static_assert(__builtin_offsetof(IdentifyController, sgls) == 536);
static_assert(__builtin_offsetof(IdentifyController, subnqn) == 768);
static_assert(__builtin_offsetof(IdentifyController, psd) == 2048);

// LBA Format data structure (1.4 §5.15.2.2, Figure 249).
struct LbaFormat {
    u16 ms;    // metadata bytes per LBA
    u8 lbads;  // LBA data size as a power of two (9 = 512 B)
    u8 rp;     // bits 1:0 relative performance
};
static_assert(sizeof(LbaFormat) == 4);

// Identify Namespace data structure (1.4 §5.15.2.2, Figure 245), 4096 bytes.
struct IdentifyNamespace {
    u64 nsze;            // 0: namespace size in logical blocks
    u64 ncap;            // 8
    u64 nuse;            // 16
    u8 nsfeat;           // 24
    u8 nlbaf;            // 25: number of LBA formats, 0's based
    u8 flbas;            // 26: bits 3:0 index of the format in use
    u8 mc;               // 27
    u8 dpc;              // 28
    u8 dps;              // 29
    u8 nmic;             // 30
    u8 rescap;           // 31
    u8 fpi;              // 32
    u8 dlfeat;           // 33
    u16 nawun;           // 34
    u16 nawupf;          // 36
    u16 nacwu;           // 38
    u16 nabsn;           // 40
    u16 nabo;            // 42
    u16 nabspf;          // 44
    u16 noiob;           // 46
    u8 nvmcap[16];       // 48
    u16 npwg;            // 64: preferred write granularity, 0's based, in LBAs
    u16 npwa;            // 66
    u16 npdg;            // 68
    u16 npda;            // 70
    u16 nows;            // 72
    u8 reserved74[18];   // 74..91
    u32 anagrpid;        // 92
    u8 reserved96[3];    // 96
    u8 nsattr;           // 99
    u16 nvmsetid;        // 100
    u16 endgid;          // 102
    u8 nguid[16];        // 104
    u8 eui64[8];         // 120
    LbaFormat lbaf[16];  // 128
    u8 reserved192[192]; // 192..383
    u8 vs[3712];         // 384..4095
};
static_assert(sizeof(IdentifyNamespace) == 4096);
static_assert(__builtin_offsetof(IdentifyNamespace, flbas) == 26);
static_assert(__builtin_offsetof(IdentifyNamespace, npwg) == 64);
static_assert(__builtin_offsetof(IdentifyNamespace, anagrpid) == 92);
static_assert(__builtin_offsetof(IdentifyNamespace, nguid) == 104);
static_assert(__builtin_offsetof(IdentifyNamespace, lbaf) == 128);
static_assert(__builtin_offsetof(IdentifyNamespace, vs) == 384);

// Active Namespace ID list (CNS 02h): up to 1024 ascending NSIDs, 0-terminated.
struct ActiveNamespaceList {
    u32 nsid[1024];
};
static_assert(sizeof(ActiveNamespaceList) == 4096);

} // namespace nvme
