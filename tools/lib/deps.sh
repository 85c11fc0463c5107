# Shared by tools/run and tools/check: install what a fresh Debian 12 machine lacks.
# Source it, then call `ensure_packages`.

SLUICE_PACKAGES=(
  build-essential cmake g++ binutils python3
  qemu-system-x86 grub-pc-bin grub-common xorriso mtools
  libgtest-dev e2fsprogs cpio musl-tools liburing-dev busybox-static
  clang libclang-rt-14-dev  # tests/fuzz: libFuzzer and the sanitizer runtimes
)

ensure_packages() {
  local missing=()
  for p in "${SLUICE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# configure_and_build <build-dir> [extra cmake args...]
configure_and_build() {
  local dir=$1; shift
  cmake -S "$SLUICE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
