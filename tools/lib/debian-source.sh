#!/usr/bin/env bash
# debian-source.sh: fetch Debian source packages with apt-get source through a
# private apt configuration (a deb-src entry of its own, its own lists and
# cache), never touching /etc/apt.
#
#   tools/lib/debian-source.sh DIR PACKAGE=VERSION...
#   tools/lib/debian-source.sh build/src liburing=2.3-3 fio=3.33-3
#
# Unpacks each source into DIR (DIR/liburing-2.3, DIR/fio-3.33). The archive's
# signatures are checked with Debian's keyring (debian-archive-keyring).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR PACKAGE=VERSION..." >&2; exit 2; }
dest=$(mkdir -p "$1" && cd "$1" && pwd)
shift

apt_dir="$dest/.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" "$apt_dir/preferences.d"
cat > "$apt_dir/sources.list" <<LIST
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
LIST
: > "$apt_dir/status"
apt_options=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
  -o "Dir::State=$apt_dir"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
)
apt-get "${apt_options[@]}" -qq update
cd "$dest"
for spec in "$@"; do
  package=${spec%%=*} version=${spec#*=}
  upstream=${version%-*}
  if [ -d "$dest/$package-$upstream" ]; then
    echo "$package $version: already in $dest/$package-$upstream"
    continue
  fi
  apt-get "${apt_options[@]}" -qq source "$spec"
done
