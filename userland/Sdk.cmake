# The Sluice userland SDK: sluice_user_program() builds a static x86-64 Linux
# program with the Debian host's musl-gcc, against liburing-dev's liburing.a
# when asked, and with the kernel UAPI headers from Sluice's own uapi/ (see
# docs/USERLAND.md). Host glibc headers are never seen: musl-gcc's specs
# replace the system include path with musl's, and include/ adds only the
# linux/*.h and liburing headers a program needs.
#
#   include(path/to/sluice/userland/Sdk.cmake)
#   sluice_user_program(hello SOURCES hello.c)
#   sluice_user_program(cp SOURCES cp.c util.c LIBS uring CFLAGS -O3
#                       OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin GUEST_PATH /bin/cp)
#
# The program lands in OUTPUT_DIRECTORY (default ${CMAKE_BINARY_DIR}/userland/bin);
# target userland_<name> (or TARGET) builds it (part of ALL). Programs given a GUEST_PATH are
# recorded in the global property SLUICE_INITRAMFS_FILES ("host=guest" entries)
# for the initramfs. SLUICE_USER_CFLAGS (a list) is added to every program.
include_guard(GLOBAL)

find_program(SLUICE_MUSL_GCC musl-gcc)
if(NOT SLUICE_MUSL_GCC)
  message(FATAL_ERROR "musl-gcc not found: apt-get install musl-tools")
endif()
set(SLUICE_LIBURING_A /usr/lib/x86_64-linux-gnu/liburing.a CACHE FILEPATH "liburing-dev's static library")
# Cache entries, not plain variables: include_guard makes a second include()
# (from another directory) a no-op, and the function must see these there.
set(SLUICE_SDK_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/include CACHE INTERNAL "the SDK's include directory")
set(SLUICE_SDK_CMAKE ${CMAKE_CURRENT_LIST_FILE} CACHE INTERNAL "this file")
set(SLUICE_SDK_BASE_CFLAGS -static -std=gnu11 -O2 -Wall -Wextra -isystem ${SLUICE_SDK_INCLUDE}
    CACHE INTERNAL "flags of every SDK program")

function(sluice_user_program name)
  cmake_parse_arguments(P "" "OUTPUT_DIRECTORY;GUEST_PATH;TARGET" "SOURCES;LIBS;CFLAGS" ${ARGN})
  if(NOT P_TARGET)
    set(P_TARGET userland_${name})
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "sluice_user_program(${name}): no SOURCES")
  endif()
  if(NOT P_OUTPUT_DIRECTORY)
    set(P_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/userland/bin)
  endif()
  set(out ${P_OUTPUT_DIRECTORY}/${name})
  set(objdir ${CMAKE_CURRENT_BINARY_DIR}/${P_TARGET}.objs)
  set(flags ${SLUICE_SDK_BASE_CFLAGS} ${SLUICE_USER_CFLAGS} ${P_CFLAGS})

  set(objects)
  foreach(src ${P_SOURCES})
    get_filename_component(src ${src} ABSOLUTE)
    get_filename_component(stem ${src} NAME_WE)
    set(obj ${objdir}/${stem}.o)
    add_custom_command(OUTPUT ${obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${objdir}
      COMMAND ${SLUICE_MUSL_GCC} ${flags} -MD -MF ${obj}.d -c ${src} -o ${obj}
      DEPENDS ${src}
      DEPFILE ${obj}.d
      COMMENT "musl-gcc ${name}: ${stem}.c"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()

  set(libs)
  foreach(lib ${P_LIBS})
    if(lib STREQUAL "uring")
      list(APPEND libs ${SLUICE_LIBURING_A})
    else()
      list(APPEND libs -l${lib}) # from musl's own lib directory (m, pthread, rt are all in libc.a)
    endif()
  endforeach()

  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${P_OUTPUT_DIRECTORY}
    COMMAND ${SLUICE_MUSL_GCC} ${flags} -o ${out} ${objects} ${libs}
    DEPENDS ${objects} ${SLUICE_SDK_CMAKE}
    COMMENT "musl-gcc ${name}: linking static"
    VERBATIM)
  add_custom_target(${P_TARGET} ALL DEPENDS ${out})
  set_target_properties(${P_TARGET} PROPERTIES SLUICE_PROGRAM ${out})
  if(P_GUEST_PATH)
    set_property(GLOBAL APPEND PROPERTY SLUICE_INITRAMFS_FILES "${out}=${P_GUEST_PATH}")
    set_property(GLOBAL APPEND PROPERTY SLUICE_INITRAMFS_TARGETS ${P_TARGET})
  endif()
endfunction()
