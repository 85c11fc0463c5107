// The page-cache state table (fs/pagecache/PageState.h): which flag
// combinations are states, and which state each names.
#include "fs/pagecache/PageState.h"

#include <gtest/gtest.h>

using namespace pagecache;

TEST(PageState, FlagsNameTheDocumentedStates)
{
    EXPECT_EQ(page_state_of(0), PageState::Missing);
    EXPECT_EQ(page_state_of(PAGE_LOCKED), PageState::Reading);
    EXPECT_EQ(page_state_of(PAGE_LOCKED | PAGE_ERROR), PageState::Reading);
    EXPECT_EQ(page_state_of(PAGE_ERROR), PageState::Error);
    EXPECT_EQ(page_state_of(PAGE_UPTODATE), PageState::UpToDate);
    EXPECT_EQ(page_state_of(PAGE_UPTODATE | PAGE_LOCKED), PageState::UpToDate);
    EXPECT_EQ(page_state_of(PAGE_UPTODATE | PAGE_DIRTY), PageState::Dirty);
    EXPECT_EQ(page_state_of(PAGE_UPTODATE | PAGE_WRITEBACK), PageState::Writeback);
    // Re-dirtied while being written: still Writeback until the write ends.
    EXPECT_EQ(page_state_of(PAGE_UPTODATE | PAGE_WRITEBACK | PAGE_DIRTY), PageState::Writeback);
    // LRU bookkeeping bits do not change the state.
    EXPECT_EQ(page_state_of(PAGE_UPTODATE | PAGE_LRU | PAGE_ACTIVE | PAGE_REFERENCED), PageState::UpToDate);
}

TEST(PageState, OnlyValidContentsCanBeDirtyOrWritten)
{
    for (u32 flags = 0; flags < (1u << 14); flags++) {
        const bool uptodate = flags & PAGE_UPTODATE;
        const bool needs_contents = flags & (PAGE_DIRTY | PAGE_WRITEBACK);
        EXPECT_EQ(is_valid_page_state(flags), uptodate || !needs_contents) << std::hex << flags;
    }
}

TEST(PageState, FlagHelpersAreAtomicReadModifyWrites)
{
    Page page {};
    EXPECT_FALSE(page_test_and_set(page, PAGE_LOCKED));
    EXPECT_TRUE(page_test_and_set(page, PAGE_LOCKED));
    page_set(page, PAGE_UPTODATE | PAGE_DIRTY);
    EXPECT_EQ(page_state(page), PageState::Dirty);
    EXPECT_TRUE(page_test_and_clear(page, PAGE_DIRTY));
    EXPECT_FALSE(page_test_and_clear(page, PAGE_DIRTY));
    page_clear(page, PAGE_LOCKED);
    EXPECT_EQ(page.flags.load(MemoryOrder::Relaxed), static_cast<u32>(PAGE_UPTODATE));
}
