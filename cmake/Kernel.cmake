# The kernel image: freestanding C++20 built with the host g++, no host headers
# beyond the compiler's own freestanding ones (stddef.h, stdint.h, stdarg.h).

execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE COMPILER_INCLUDE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)

file(GLOB_RECURSE KERNEL_SOURCES CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/arch/*.cpp ${PROJECT_SOURCE_DIR}/arch/*.S
  ${PROJECT_SOURCE_DIR}/kernel/*.cpp
  ${PROJECT_SOURCE_DIR}/drivers/*.cpp
  ${PROJECT_SOURCE_DIR}/fs/*.cpp
  ${PROJECT_SOURCE_DIR}/tests/ktest/*.cpp)

set(KERNEL_LINKER_SCRIPT ${PROJECT_SOURCE_DIR}/arch/x86_64/linker.ld)

set(KERNEL_COMMON_FLAGS
  -ffreestanding -nostdinc -isystem ${COMPILER_INCLUDE_DIR}
  -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-sse -mno-mmx
  -fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer
  -fno-asynchronous-unwind-tables -fno-strict-aliasing
  -O2 -g)

set(KERNEL_CXX_FLAGS
  -std=c++20 -fcheck-new -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -nostdinc++ -Wall -Wextra -Werror -Wno-missing-field-initializers
  -Wno-invalid-offsetof -Wno-address-of-packed-member)

add_executable(kernel.elf ${KERNEL_SOURCES})
target_include_directories(kernel.elf PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_options(kernel.elf PRIVATE
  ${KERNEL_COMMON_FLAGS}
  $<$<COMPILE_LANGUAGE:CXX>:${KERNEL_CXX_FLAGS}>)
if(SLUICE_KERNEL_DEBUG)
  target_compile_definitions(kernel.elf PRIVATE SLUICE_KERNEL_DEBUG=1)
endif()
target_link_options(kernel.elf PRIVATE
  -nostdlib -static -no-pie -T ${KERNEL_LINKER_SCRIPT}
  -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
target_link_libraries(kernel.elf PRIVATE gcc)
set_target_properties(kernel.elf PROPERTIES LINK_DEPENDS ${KERNEL_LINKER_SCRIPT})

# The symbol table GRUB loads next to the kernel (module "symbols").
add_custom_command(OUTPUT kernel.sym
  COMMAND nm -n --defined-only -C $<TARGET_FILE:kernel.elf> > kernel.sym
  DEPENDS kernel.elf
  COMMENT "Writing kernel.sym")

# The bootable ISO with the default command line and the initramfs
# (userland/CMakeLists.txt) as GRUB module "initramfs"; tools/run rebuilds it
# with another command line through tools/mkiso.
add_custom_command(OUTPUT sluice.iso
  COMMAND ${PROJECT_SOURCE_DIR}/tools/mkiso --kernel $<TARGET_FILE:kernel.elf>
          --symbols ${CMAKE_CURRENT_BINARY_DIR}/kernel.sym --out sluice.iso
          --module initramfs=${PROJECT_BINARY_DIR}/initramfs.cpio
  DEPENDS kernel.elf kernel.sym ${PROJECT_SOURCE_DIR}/tools/mkiso ${PROJECT_BINARY_DIR}/initramfs.cpio
  COMMENT "Building sluice.iso")
add_custom_target(image ALL DEPENDS sluice.iso kernel.sym)
