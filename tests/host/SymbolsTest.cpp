// kernel/debug/Symbols: the in-kernel symbolizer that names functions in
// backtraces, against a synthetic table and against the real kernel's.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "kernel/debug/Symbols.h"

namespace {

std::string name_of(const symbols::Symbol& s) { return std::string(s.name, s.name_length); }

} // namespace

TEST(Symbols, FindsTheContainingFunctionAndSkipsData)
{
    static const char table[] = "ffffffff80100000 T first_function\n"
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

// Every function address that addr2line resolves in kernel.elf is named the
// same by the kernel's own lookup over kernel.sym.
TEST(Symbols, AgreesWithAddr2lineOnTheRealKernel)
{
    std::ifstream file(SLUICE_KERNEL_SYM);
    ASSERT_TRUE(file.good()) << "missing " << SLUICE_KERNEL_SYM;
    std::stringstream buffer;
    buffer << file.rdbuf();
    const std::string table = buffer.str();
    symbols::init(table.data(), table.size());

    // Sample text symbols from the table and probe a few bytes into each.
    std::istringstream lines(table);
    std::string line;
    int checked = 0;
    int index = 0;
    while (std::getline(lines, line) && checked < 40) {
        if (line.size() < 20 || (line[17] != 'T' && line[17] != 't') || index++ % 25 != 0)
            continue;
        const unsigned long address = std::stoul(line.substr(0, 16), nullptr, 16) + 1;
        char command[512];
        // With -i, addr2line lists the inlined frames first and the function
        // that really contains the address (the symbol) last.
        std::snprintf(command, sizeof(command), "addr2line -f -i -e %s 0x%lx", SLUICE_KERNEL_ELF, address);
        FILE* pipe = popen(command, "r");
        ASSERT_NE(pipe, nullptr);
        char output_line[512];
        std::string expected;
        for (int n = 0; fgets(output_line, sizeof(output_line), pipe); n++) {
            if (n % 2 == 0) // function lines alternate with file:line lines
                expected = output_line;
        }
        pclose(pipe);
        expected.erase(expected.find_last_not_of('\n') + 1);
        // addr2line without -C prints the mangled name; demangle through c++filt.
        std::snprintf(command, sizeof(command), "echo '%s' | c++filt", expected.c_str());
        pipe = popen(command, "r");
        char demangled[512] = {};
        ASSERT_NE(fgets(demangled, sizeof(demangled), pipe), nullptr);
        pclose(pipe);
        expected = demangled;
        expected.erase(expected.find_last_not_of('\n') + 1);

        symbols::Symbol s;
        ASSERT_TRUE(symbols::lookup(address, s)) << line;
        // GCC's partial-inlining and constant-propagation clones carry a
        // " [clone .part.0]" suffix in the symbol table that DWARF omits.
        std::string kernel_name = name_of(s);
        if (const auto clone = kernel_name.find(" [clone "); clone != std::string::npos)
            kernel_name.erase(clone);
        // Aliases (two names at one address) may differ; the table's own name
        // at that address must then be one of them.
        // For the static invoker of a lambda (a captureless lambda turned into
        // a function pointer) DWARF has only "_FUN": accept the kernel's full
        // name when it ends in that.
        const bool lambda_invoker = expected == "_FUN" && kernel_name.find("::_FUN(") != std::string::npos;
        // Likewise for a member of a class with internal linkage (in an
        // anonymous namespace) DWARF has only the bare name ("alloc_page" for
        // "(anonymous namespace)::KernelDmaPages::alloc_page()").
        // The same holds for a function in an anonymous namespace nested in a
        // named one ("virtio::blk::(anonymous namespace)::kernel_virt_phys").
        const bool internal_member = expected.find("::") == std::string::npos &&
                                     kernel_name.find("(anonymous namespace)::") != std::string::npos &&
                                     kernel_name.find("::" + expected + "(") != std::string::npos;
        // A lambda in a template argument: DWARF spells it "<lambda()>" where
        // the demangler says "{lambda()#1}"; compare the leading identifier.
        const std::string leading = expected.substr(0, expected.find_first_of("<("));
        const bool lambda_argument = expected.find("<lambda") != std::string::npos && !leading.empty() &&
                                     kernel_name.find(leading + "<") != std::string::npos;
        if (kernel_name != expected && line.substr(19) != expected && !lambda_invoker && !internal_member &&
            !lambda_argument)
            ADD_FAILURE() << "0x" << std::hex << address << ": kernel says " << name_of(s) << ", addr2line says "
                          << expected;
        checked++;
    }
    EXPECT_GE(checked, 20);
}
