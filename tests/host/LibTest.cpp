// kernel/lib: formatting, string views, command-line parsing, intrusive lists.
#include <gtest/gtest.h>

#include "kernel/lib/CommandLine.h"
#include "kernel/lib/Format.h"
#include "kernel/lib/IntrusiveList.h"
#include "kernel/lib/Result.h"

TEST(Format, IntegersWidthsAndFlags)
{
    char b[128];
    format_string(b, sizeof(b), "%d %i %u %x %X %o", -5, 17, 42u, 0xbeefu, 0xbeefu, 8u);
    EXPECT_STREQ(b, "-5 17 42 beef BEEF 10");
    format_string(b, sizeof(b), "[%5d][%-5d][%05d][%+d][% d]", 42, 42, -42, 3, 3);
    EXPECT_STREQ(b, "[   42][42   ][-0042][+3][ 3]");
    format_string(b, sizeof(b), "%lu %lx %zu %lld", 18446744073709551615ul, 0xfffffffffful, sizeof(int),
                  -9223372036854775807ll - 1);
    EXPECT_STREQ(b, "18446744073709551615 ffffffffff 4 -9223372036854775808");
    format_string(b, sizeof(b), "%hhu %hd", 257u, 65535);
    EXPECT_STREQ(b, "1 -1");
    format_string(b, sizeof(b), "%#x %#X %#o %#x %#010x", 255u, 255u, 8u, 0u, 0xabu);
    EXPECT_STREQ(b, "0xff 0XFF 010 0 0x000000ab");
    format_string(b, sizeof(b), "%p %p", reinterpret_cast<void*>(0x1000), nullptr);
    EXPECT_STREQ(b, "0x1000 0x0");
}

TEST(Format, StringsAndPrecision)
{
    char b[64];
    format_string(b, sizeof(b), "%s|%8s|%-8s|%.3s|%.*s|%c|%%", "abc", "abc", "abc", "abcdef", 2, "xyz", 'q');
    EXPECT_STREQ(b, "abc|     abc|abc     |abc|xy|q|%");
    const char* volatile null_string = nullptr;
    format_string(b, sizeof(b), "%s", null_string);
    EXPECT_STREQ(b, "(null)");
}

TEST(Format, TruncatesAndReportsFullLength)
{
    char b[8];
    usize n = format_string(b, sizeof(b), "hello, world %d", 123);
    EXPECT_EQ(n, 16u);
    EXPECT_STREQ(b, "hello, ");
    EXPECT_EQ(format_string(nullptr, 0, "%d", 12345), 5u);
}

TEST(StringView, ParsesNumbersWithSuffixes)
{
    u64 v = 0;
    EXPECT_TRUE(StringView("123").to_u64(v));
    EXPECT_EQ(v, 123u);
    EXPECT_TRUE(StringView("0x1F").to_u64(v));
    EXPECT_EQ(v, 31u);
    EXPECT_TRUE(StringView("4k").to_u64(v));
    EXPECT_EQ(v, 4096u);
    EXPECT_TRUE(StringView("2G").to_u64(v));
    EXPECT_EQ(v, 2ull << 30);
    EXPECT_FALSE(StringView("").to_u64(v));
    EXPECT_FALSE(StringView("12q").to_u64(v));
    EXPECT_FALSE(StringView("4kk").to_u64(v));
    EXPECT_FALSE(StringView("99999999999999999999").to_u64(v));
}

TEST(CommandLine, KeyValuesFlagsQuotesAndLastWins)
{
    CommandLine c;
    c.parse("  smp=4 quiet init=\"/bin/bench --qd 32\" smp=2 ktest=all  ");
    EXPECT_EQ(c.option_count(), 5u);
    EXPECT_EQ(c.get_u64("smp", 0), 2u);
    EXPECT_TRUE(c.has("quiet"));
    EXPECT_TRUE(c.get("quiet").is_empty());
    EXPECT_TRUE(c.get("init") == StringView("/bin/bench --qd 32"));
    EXPECT_TRUE(c.get("ktest") == StringView("all"));
    EXPECT_FALSE(c.has("ktes"));
    EXPECT_EQ(c.get_u64("missing", 7), 7u);
    EXPECT_EQ(c.get_u64("init", 9), 9u);
}

namespace {
struct Item {
    int value;
    ListNode node;
};
} // namespace

TEST(IntrusiveList, PushPopRemoveSpliceAndIterateWhileRemoving)
{
    Item items[5] = {{0, {}}, {1, {}}, {2, {}}, {3, {}}, {4, {}}};
    IntrusiveList<Item, &Item::node> a, b;
    for (int i = 0; i < 3; i++)
        a.push_back(items[i]);
    b.push_back(items[3]);
    b.push_front(items[4]);
    a.splice_back(b);
    EXPECT_TRUE(b.is_empty());
    int expected[] = {0, 1, 2, 4, 3};
    int i = 0;
    for (auto& item : a) {
        EXPECT_EQ(item.value, expected[i++]);
        if (item.value == 1)
            a.remove(item);
    }
    EXPECT_EQ(a.size_slow(), 4u);
    EXPECT_FALSE(items[1].node.is_linked());
    EXPECT_EQ(a.pop_front()->value, 0);
    EXPECT_EQ(a.pop_back()->value, 3);
    EXPECT_EQ(a.first()->value, 2);
}

namespace {
Result<int> parse_positive(int x)
{
    if (x < 0)
        return Error::from_errno(EINVAL);
    return x;
}
Result<int> doubled(int x)
{
    int v = TRY(parse_positive(x));
    return v * 2;
}
} // namespace

TEST(Result, TryPropagatesErrno)
{
    auto ok = doubled(21);
    ASSERT_FALSE(ok.is_error());
    EXPECT_EQ(ok.value(), 42);
    auto bad = doubled(-1);
    ASSERT_TRUE(bad.is_error());
    EXPECT_EQ(bad.error().code(), EINVAL);
}
