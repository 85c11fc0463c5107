// kernel/lib/Own.h: single ownership, moves, leak, adopt-on-create and the
// early-return path a factory takes when a later step fails.
#include <gtest/gtest.h>

#include "kernel/lib/Own.h"

namespace {

struct Counted {
    explicit Counted(int* destroyed, int value = 0) : destroyed(destroyed), value(value) { }
    virtual ~Counted() { ++*destroyed; }
    int* destroyed;
    int value;
};

struct Derived : Counted {
    using Counted::Counted;
};

TEST(Own, DestroysOnScopeExit)
{
    int destroyed = 0;
    {
        Own<Counted> own(new Counted(&destroyed, 7));
        EXPECT_TRUE(own);
        EXPECT_EQ(own->value, 7);
        EXPECT_EQ((*own).value, 7);
        EXPECT_EQ(destroyed, 0);
    }
    EXPECT_EQ(destroyed, 1);
}

TEST(Own, MoveTransfersOwnershipOnce)
{
    int destroyed = 0;
    {
        Own<Counted> a(new Counted(&destroyed));
        Counted* raw = a.ptr();
        Own<Counted> b(kstd::move(a));
        EXPECT_FALSE(a);
        EXPECT_EQ(b.ptr(), raw);
        Own<Counted> c;
        c = kstd::move(b);
        EXPECT_FALSE(b);
        EXPECT_EQ(c.ptr(), raw);
        EXPECT_EQ(destroyed, 0);
    }
    EXPECT_EQ(destroyed, 1);
}

TEST(Own, AssignmentDestroysThePreviousObject)
{
    int first = 0, second = 0;
    Own<Counted> own(new Counted(&first));
    own = Own<Counted>(new Counted(&second));
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 0);
    own = nullptr;
    EXPECT_EQ(second, 1);
    EXPECT_TRUE(own == nullptr);
}

TEST(Own, LeakAndReleaseGiveUpOwnership)
{
    int destroyed = 0;
    Counted* leaked;
    Counted* released;
    {
        Own<Counted> a(new Counted(&destroyed));
        Own<Counted> b(new Counted(&destroyed));
        leaked = a.leak();
        released = b.release();
        EXPECT_FALSE(a);
        EXPECT_FALSE(b);
    }
    EXPECT_EQ(destroyed, 0);
    delete leaked;
    delete released;
    EXPECT_EQ(destroyed, 2);
}

TEST(Own, DerivedConvertsToBase)
{
    int destroyed = 0;
    {
        Own<Derived> derived(new Derived(&destroyed, 3));
        Own<Counted> base(kstd::move(derived));
        EXPECT_FALSE(derived);
        EXPECT_EQ(base->value, 3);
    }
    EXPECT_EQ(destroyed, 1);
}

TEST(Own, AdoptNullIsEnomem)
{
    Counted* nothing = nullptr;
    auto result = adopt_own_or_enomem(nothing);
    ASSERT_TRUE(result.is_error());
    EXPECT_EQ(result.error().code(), ENOMEM);
}

TEST(Own, AdoptOnCreate)
{
    int destroyed = 0;
    {
        auto result = adopt_own_or_enomem(new (nothrow) Counted(&destroyed, 5));
        ASSERT_FALSE(result.is_error());
        Own<Counted> own = result.release_value();
        EXPECT_EQ(own->value, 5);
        auto made = try_make_own<Counted>(&destroyed, 6);
        ASSERT_FALSE(made.is_error());
        EXPECT_EQ(made.value()->value, 6);
    }
    EXPECT_EQ(destroyed, 2);
}

// A factory owns its object before the first TRY: a failing later step frees it.
Result<void> failing_step() { return Error::from_errno(EIO); }
Result<void> passing_step() { return {}; }

Result<Own<Counted>> factory(int* destroyed, bool fail)
{
    auto object = TRY(adopt_own_or_enomem(new (nothrow) Counted(destroyed)));
    TRY(passing_step());
    if (fail)
        TRY(failing_step());
    return object;
}

TEST(Own, FactoryFailureAfterAdoptFrees)
{
    int destroyed = 0;
    auto failed = factory(&destroyed, true);
    ASSERT_TRUE(failed.is_error());
    EXPECT_EQ(failed.error().code(), EIO);
    EXPECT_EQ(destroyed, 1);

    {
        auto built = factory(&destroyed, false);
        ASSERT_FALSE(built.is_error());
        EXPECT_EQ(destroyed, 1);
    }
    EXPECT_EQ(destroyed, 2);
}

} // namespace

// kernel/lib/NumberedTable.h: the one "lowest free number" rule (nvme0, vda).
#include "kernel/lib/NumberedTable.h"

TEST(NumberedTable, LowestNumberNotTakenOrReserved)
{
    NumberedTable<int, 4> table;
    int a = 0, b = 0, c = 0;
    EXPECT_EQ(table.reserve().value(), 0u);
    EXPECT_EQ(table.reserve().value(), 1u); // 0 is reserved: a concurrent probe gets another name
    EXPECT_EQ(table.count(), 0u);           // nothing published while bring-up runs
    table.publish(1, &b);
    table.publish(0, &a);
    EXPECT_EQ(table.count(), 2u);
    EXPECT_EQ(table.at(0), &b); // in the order they came up
    EXPECT_EQ(table.at(2), nullptr);
    EXPECT_EQ(table.reserve().value(), 2u);
    table.release(2); // bring-up failed
    EXPECT_TRUE(table.remove(&a));
    EXPECT_FALSE(table.remove(&a));
    EXPECT_EQ(table.reserve().value(), 0u); // a rebound object gets its old number back
    table.publish(0, &c);
    EXPECT_EQ(table.reserve().value(), 2u);
    EXPECT_EQ(table.reserve().value(), 3u);
    EXPECT_EQ(table.reserve().error().code(), ENOSPC);
}

// kernel/log/RateLimit.h: a burst per interval, then silence until the next.
#include "kernel/log/RateLimit.h"

TEST(RateLimit, BurstPerInterval)
{
    RateLimit limit(1000, 3);
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += limit.allow_at(5000 + i);
    EXPECT_EQ(allowed, 3);
    EXPECT_EQ(limit.suppressed(), 7u);
    EXPECT_TRUE(limit.allow_at(6001)); // a new interval
}
