#include "arch/x86_64/time/Rtc.h"

#include "arch/x86_64/Cpu.h"

namespace rtc {
namespace {

// MC146818 registers (index port 0x70, data 0x71; bit 7 of the index
// masks NMIs, left clear).
constexpr u16 INDEX_PORT = 0x70;
constexpr u16 DATA_PORT = 0x71;
constexpr u8 REG_SECONDS = 0x00;
constexpr u8 REG_MINUTES = 0x02;
constexpr u8 REG_HOURS = 0x04;
constexpr u8 REG_DAY = 0x07;
constexpr u8 REG_MONTH = 0x08;
constexpr u8 REG_YEAR = 0x09;
constexpr u8 REG_STATUS_A = 0x0a;
constexpr u8 REG_STATUS_B = 0x0b;
constexpr u8 REG_CENTURY = 0x32; // the ACPI FADT's usual century register
constexpr u8 STATUS_A_UPDATE_IN_PROGRESS = 0x80;
constexpr u8 STATUS_B_24_HOUR = 0x02;
constexpr u8 STATUS_B_BINARY = 0x04;
constexpr u8 HOUR_PM = 0x80;

u8 read_register(u8 index)
{
    x86::outb(INDEX_PORT, index);
    return x86::inb(DATA_PORT);
}

struct Reading {
    u8 second, minute, hour, day, month, year, century;
    bool operator==(const Reading&) const = default;
};

Reading read_once()
{
    while (read_register(REG_STATUS_A) & STATUS_A_UPDATE_IN_PROGRESS) {
    }
    return {read_register(REG_SECONDS), read_register(REG_MINUTES), read_register(REG_HOURS),
            read_register(REG_DAY),     read_register(REG_MONTH),   read_register(REG_YEAR),
            read_register(REG_CENTURY)};
}

u8 from_bcd(u8 value) { return static_cast<u8>((value >> 4) * 10 + (value & 0xf)); }

// Days from 1970-01-01 to year-month-day (proleptic Gregorian; Howard
// Hinnant's days_from_civil).
i64 days_from_civil(i64 year, u32 month, u32 day)
{
    year -= month <= 2;
    i64 era = (year >= 0 ? year : year - 399) / 400;
    u32 year_of_era = static_cast<u32>(year - era * 400);
    u32 day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    u32 day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<i64>(day_of_era) - 719468;
}

} // namespace

u64 read_epoch_seconds()
{
    // Read until two readings agree: an update between two registers would
    // otherwise tear the time.
    Reading r = read_once();
    for (int attempt = 0; attempt < 8; attempt++) {
        Reading again = read_once();
        if (again == r)
            break;
        r = again;
    }
    u8 status_b = read_register(REG_STATUS_B);
    bool pm = r.hour & HOUR_PM;
    r.hour &= static_cast<u8>(~HOUR_PM);
    if (!(status_b & STATUS_B_BINARY)) {
        r.second = from_bcd(r.second);
        r.minute = from_bcd(r.minute);
        r.hour = from_bcd(r.hour);
        r.day = from_bcd(r.day);
        r.month = from_bcd(r.month);
        r.year = from_bcd(r.year);
        r.century = from_bcd(r.century);
    }
    if (!(status_b & STATUS_B_24_HOUR)) {
        r.hour %= 12;
        if (pm)
            r.hour += 12;
    }
    u32 century = r.century >= 19 && r.century <= 30 ? r.century : 20;
    i64 year = century * 100 + r.year;
    if (r.month < 1 || r.month > 12 || r.day < 1 || r.day > 31 || r.hour > 23 || r.minute > 59 || r.second > 60)
        return 0;
    i64 days = days_from_civil(year, r.month, r.day);
    if (days < 0)
        return 0;
    return static_cast<u64>(days) * 86400 + r.hour * 3600u + r.minute * 60u + r.second;
}

} // namespace rtc
