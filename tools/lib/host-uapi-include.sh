# Source this: host_uapi_include DIR makes DIR an include directory holding
# only the host's kernel UAPI headers (linux-libc-dev: linux/, asm/,
# asm-generic/), as symlinks, for third-party programs built with musl-gcc
# that need more of linux/*.h than Sluice's userland/include provides
# (liburing's test suite: sockets, errqueue; fio). glibc's headers stay out.
host_uapi_include() {
  local dir=$1
  mkdir -p "$dir"
  ln -sfn /usr/include/linux "$dir/linux"
  ln -sfn /usr/include/asm-generic "$dir/asm-generic"
  ln -sfn /usr/include/x86_64-linux-gnu/asm "$dir/asm"
}
