# Fuzz targets (tests/fuzz): libFuzzer under ASan and UBSan. libFuzzer ships
# with clang while the rest of the build uses g++, so tests/fuzz is a project
# of its own, built here with clang++ (tools/lib/deps.sh installs clang and
# its runtime libraries).
find_program(SLUICE_FUZZ_CXX NAMES clang++ clang++-14)
set(FUZZ_SEEDS ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/ext2)
if(NOT SLUICE_FUZZ_CXX)
  # Configure anyway; the tests say what is missing.
  foreach(name ext2_fuzz_corpus ext2_fuzz)
    add_test(NAME ${name} COMMAND sh -c "echo 'clang++ not found: tools/lib/deps.sh installs clang'; exit 1")
    set_tests_properties(${name} PROPERTIES LABELS "host;fuzz")
  endforeach()
  return()
endif()

include(ExternalProject)
set(FUZZ_BINARY_DIR ${PROJECT_BINARY_DIR}/fuzz)
ExternalProject_Add(fuzz_targets
  SOURCE_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz
  BINARY_DIR ${FUZZ_BINARY_DIR}
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${SLUICE_FUZZ_CXX} -DSLUICE_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  BUILD_ALWAYS ON # its own make decides what is out of date
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${FUZZ_BINARY_DIR}/ext2_fuzz)

set(FUZZ_RUN ${PROJECT_SOURCE_DIR}/tests/fuzz/run-fuzz)
# Every seed and regression input once.
add_test(NAME ext2_fuzz_corpus
  COMMAND ${FUZZ_RUN} ${FUZZ_BINARY_DIR}/ext2_fuzz ${FUZZ_SEEDS} ${FUZZ_BINARY_DIR}/ext2_fuzz_corpus.work 0)
set_tests_properties(ext2_fuzz_corpus PROPERTIES LABELS "host;fuzz" TIMEOUT 120)
# The bounded run: 1,000,000 executions with no finding (about 3 minutes on a
# loaded 2-core machine; CTest's limit is only a backstop for a wedged run).
add_test(NAME ext2_fuzz
  COMMAND ${FUZZ_RUN} ${FUZZ_BINARY_DIR}/ext2_fuzz ${FUZZ_SEEDS} ${FUZZ_BINARY_DIR}/ext2_fuzz.work 1000000)
set_tests_properties(ext2_fuzz PROPERTIES LABELS "host;fuzz" TIMEOUT 1500)
