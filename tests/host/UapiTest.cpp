// uapi/ against the host's Linux x86-64 headers: every constant, struct size
// and alignment, field offset and field size listed in tests/host/uapi/*.def
// must be equal (the lists name every constant the uapi headers define).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "uapi/Abi.h"

namespace {

void expect_same(AbiFacts sluice, AbiFacts host, const char* host_name) {
    ASSERT_EQ(sluice.count, host.count);
    ASSERT_GT(sluice.count, 0u);
    for (size_t i = 0; i < sluice.count; i++) {
        ASSERT_STREQ(sluice.facts[i].name, host.facts[i].name);
        EXPECT_EQ(sluice.facts[i].value, host.facts[i].value)
            << sluice.facts[i].name << ": Sluice " << sluice.facts[i].value << ", " << host_name << " "
            << host.facts[i].value;
    }
}

TEST(Uapi, MatchesLinuxHeaders) { expect_same(sluice_linux_facts(), linux_facts(), "linux/asm"); }

TEST(Uapi, MatchesLibcWhereLinuxExportsNoHeader) { expect_same(sluice_libc_facts(), libc_facts(), "glibc"); }

TEST(Uapi, EveryFactIsListedOnce) {
    std::map<std::string, int> seen;
    for (AbiFacts side : {sluice_linux_facts(), sluice_libc_facts()})
        for (size_t i = 0; i < side.count; i++) seen[side.facts[i].name]++;
    for (const auto& [name, n] : seen) EXPECT_EQ(n, 1) << name;
}

// A constant added to uapi/ without a line in the lists would go untested:
// every object-like macro of the headers this test owns must be a fact.
// Include guards, SLUICE_-prefixed helpers and the headers with tests of
// their own (io_uring.h, unistd_64.h) are exempt.
TEST(Uapi, ListsCoverEveryConstant) {
    std::set<std::string> facts;
    for (AbiFacts side : {sluice_linux_facts(), sluice_libc_facts()})
        for (size_t i = 0; i < side.count; i++) facts.insert(side.facts[i].name);
    const std::regex define(R"(^\s*#\s*define\s+(\w+)(\(?))");
    int checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(SLUICE_SOURCE_DIR "/uapi")) {
        std::string file = entry.path().filename();
        if (file == "unistd_64.h" || entry.path().extension() != ".h") continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            std::smatch m;
            if (!std::regex_search(line, m, define) || m[2] == "(") continue;
            std::string name = m[1];
            if (name.rfind("SLUICE_", 0) == 0) continue;
            checked++;
            EXPECT_TRUE(facts.count(name))
                << file << ": " << name << " is in no list of tests/host/uapi/";
        }
    }
    EXPECT_GT(checked, 500);
}

std::map<std::string, long> syscall_numbers(const std::string& path) {
    std::map<std::string, long> numbers;
    std::ifstream in(path);
    const std::regex define(R"(^#define\s+(__NR_\w+)\s+(\S+))");
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, define)) numbers[m[1]] = std::stol(m[2], nullptr, 0);
    }
    return numbers;
}

// uapi/unistd_64.h (the syscall table's numbering) against the host's
// asm/unistd_64.h: the same names with the same numbers, none missing.
TEST(Uapi, SyscallNumbersMatchLinux) {
    const std::string sluice_path = SLUICE_SOURCE_DIR "/uapi/unistd_64.h";
    if (!std::filesystem::exists(sluice_path)) GTEST_SKIP() << "no uapi/unistd_64.h yet";
    auto sluice = syscall_numbers(sluice_path);
    auto linux_numbers = syscall_numbers("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    ASSERT_GT(linux_numbers.size(), 300u);
    for (const auto& [name, number] : linux_numbers) {
        auto it = sluice.find(name);
        if (it == sluice.end())
            ADD_FAILURE() << name << " (" << number << ") missing from uapi/unistd_64.h";
        else
            EXPECT_EQ(it->second, number) << name;
    }
    for (const auto& [name, number] : sluice)
        EXPECT_TRUE(linux_numbers.count(name)) << name << " is not a Linux x86-64 system call";
}

}  // namespace
