// drivers/pci/MsixLayout.h: the MSI-X table and PBA offsets a device reports
// are checked against the BAR they name (defect 9) with crafted values.
#include <gtest/gtest.h>

#include "drivers/pci/MsixLayout.h"

using namespace pci;

TEST(PciMsixLayout, SizesFollowTheSpec)
{
    EXPECT_EQ(msix_table_bytes(1), 16u);
    EXPECT_EQ(msix_table_bytes(2048), 32768u);
    EXPECT_EQ(msix_pba_bytes(1), 8u);
    EXPECT_EQ(msix_pba_bytes(64), 8u);
    EXPECT_EQ(msix_pba_bytes(65), 16u);
    EXPECT_EQ(msix_bir(0x2003), 3u);
    EXPECT_EQ(msix_offset(0x2003), 0x2000u);
}

TEST(PciMsixLayout, QemuLayoutFits)
{
    // QEMU NVMe: table at BAR0 + 0x2000, PBA at BAR0 + 0x3000, 16 KiB BAR0.
    const u64 bars[BAR_COUNT] = {16 * 1024, 0, 0, 0, 0, 0};
    EXPECT_TRUE(msix_structure_fits(0x2000, msix_table_bytes(65), bars));
    EXPECT_TRUE(msix_structure_fits(0x3000, msix_pba_bytes(65), bars));
}

TEST(PciMsixLayout, CraftedOffsetsAreRejected)
{
    const u64 bars[BAR_COUNT] = {16 * 1024, 0, 4096, 0, 0, 0};
    // Table runs past the end of its BAR.
    EXPECT_FALSE(msix_structure_fits(0x3ff8, msix_table_bytes(2), bars));
    // Offset beyond the BAR altogether (and near the top of 32 bits).
    EXPECT_FALSE(msix_structure_fits(0xfffffff8, msix_table_bytes(1), bars));
    // BIR naming an absent BAR, and the reserved BIR values 6 and 7.
    EXPECT_FALSE(msix_structure_fits(0x0001, msix_table_bytes(1), bars));
    EXPECT_FALSE(msix_structure_fits(0x0006, msix_table_bytes(1), bars));
    EXPECT_FALSE(msix_structure_fits(0x0007, msix_table_bytes(1), bars));
    // Exactly filling the BAR is fine; one entry more is not.
    EXPECT_TRUE(msix_structure_fits(0x0002, msix_table_bytes(256), bars));
    EXPECT_FALSE(msix_structure_fits(0x0002, msix_table_bytes(257), bars));
    EXPECT_FALSE(region_in_bar(~u64(0) - 4, 16, ~u64(0)));
}
