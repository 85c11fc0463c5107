// kernel/debug/Symbols: the in-kernel symbolizer that names functions in
// backtraces, against a synthetic table and against the real kernel's.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/debug/Symbols.h"

namespace {

std::string name_of(const symbols::Symbol& s) { return std::string(s.name, s.name_length); }

} // namespace

TEST(Symbols, FindsTheContainingFunctionAndSkipsData)
{
    static const char table[] = "ffffffff80100000 T __text_start\n"
                                "ffffffff80100000 T first_function\n"
                                "ffffffff80100040 t helper(int, char const*)\n"
                                "ffffffff80100080 D some_data\n"
                                "ffffffff801000c0 W weak_function\n"
                                "ffffffff80100100 T last_function\n";
    symbols::init(table, sizeof(table) - 1);
    symbols::Symbol s;
    ASSERT_TRUE(symbols::lookup(0xffffffff80100000, s));
    EXPECT_EQ(name_of(s), "first_function");
    EXPECT_EQ(s.offset, 0u);
    ASSERT_TRUE(symbols::lookup(0xffffffff80100057, s));
    EXPECT_EQ(name_of(s), "helper(int, char const*)");
    EXPECT_EQ(s.offset, 0x17u);
    // A data symbol does not end the function before it.
    ASSERT_TRUE(symbols::lookup(0xffffffff80100090, s));
    EXPECT_EQ(name_of(s), "helper(int, char const*)");
    ASSERT_TRUE(symbols::lookup(0xffffffff801000c8, s));
    EXPECT_EQ(name_of(s), "weak_function");
    ASSERT_TRUE(symbols::lookup(0xffffffff80100200, s));
    EXPECT_EQ(name_of(s), "last_function");
    EXPECT_FALSE(symbols::lookup(0xffffffff800fffff, s));
}

TEST(Symbols, NoTableMeansNoNames)
{
    symbols::init(nullptr, 0);
    symbols::Symbol s;
    EXPECT_FALSE(symbols::available());
    EXPECT_FALSE(symbols::lookup(0xffffffff80100000, s));
}

// On the real kernel, the lookup over kernel.sym names the function whose
// [start, start + size) range contains an address. The oracle is the ELF
// symbol table's sizes (nm -S), which the kernel's lookup does not use.
TEST(Symbols, AgreesWithTheElfSymbolSizesOnTheRealKernel)
{
    std::ifstream file(SLUICE_KERNEL_SYM);
    ASSERT_TRUE(file.good()) << "missing " << SLUICE_KERNEL_SYM;
    std::stringstream buffer;
    buffer << file.rdbuf();
    const std::string table = buffer.str();
    symbols::init(table.data(), table.size());

    std::string command = std::string("nm -n -S -C --defined-only ") + SLUICE_KERNEL_ELF;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    struct Sized {
        unsigned long start, size;
        std::string name;
    };
    std::vector<Sized> functions;
    std::multimap<unsigned long, std::string> names_at; // aliases share an address
    char raw[1024];
    while (fgets(raw, sizeof(raw), pipe)) {
        std::string line(raw);
        line.erase(line.find_last_not_of('\n') + 1);
        // "<16 hex start> <16 hex size> <type> <name>", or without the size for
        // symbols that have none (linker-script labels such as __text_start).
        if (line.size() > 19 && line[16] == ' ' && line[18] == ' ') {
            const char type = line[17];
            if (type == 'T' || type == 't' || type == 'W' || type == 'w')
                names_at.emplace(std::stoul(line.substr(0, 16), nullptr, 16), line.substr(19));
            continue;
        }
        if (line.size() < 37 || line[16] != ' ' || line[33] != ' ')
            continue;
        const char type = line[34];
        if (type != 'T' && type != 't' && type != 'W' && type != 'w')
            continue;
        Sized f{std::stoul(line.substr(0, 16), nullptr, 16), std::stoul(line.substr(17, 16), nullptr, 16),
                line.substr(36)};
        names_at.emplace(f.start, f.name);
        if (f.size > 1)
            functions.push_back(f);
    }
    pclose(pipe);
    ASSERT_GT(functions.size(), 100u);

    int checked = 0;
    for (size_t i = 0; i < functions.size(); i += functions.size() / 200 + 1) {
        const Sized& f = functions[i];
        for (unsigned long address : {f.start, f.start + f.size / 2, f.start + f.size - 1}) {
            symbols::Symbol s;
            ASSERT_TRUE(symbols::lookup(address, s)) << f.name;
            const auto [first, last] = names_at.equal_range(f.start);
            bool matches = false;
            for (auto it = first; it != last; ++it)
                matches = matches || it->second == name_of(s);
            EXPECT_TRUE(matches) << "0x" << std::hex << address << " is in " << f.name << ", kernel says "
                                 << name_of(s);
            EXPECT_EQ(s.offset, address - f.start) << f.name;
            checked++;
        }
    }
    EXPECT_GE(checked, 300);
}
