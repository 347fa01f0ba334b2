#!/usr/bin/env bash
# Fetches the Debian source of the installed protobuf (package `protobuf`, the
# exact version of libprotobuf-dev) with `apt-get source`, patches applied,
# into ${FL_DEPS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fl-deps}/protobuf-UPSTREAM.
#
# Why: libfl_client.so links a protobuf-lite runtime privately (its symbols
# local to the library), so an app that links another protobuf version links
# and runs. Debian's libprotobuf-lite.a cannot go into a shared object (arena.o
# and others use the local-exec TLS model and non-PIC references), so
# cmake/private_protobuf_lite.cmake compiles the lite runtime's 32
# files from this source, -fPIC and hidden.
#
# Uses its own apt lists (deb-src for this release's suites) under the cache
# directory: the system's apt sources are not touched. Idempotent: does nothing
# when the source of this version is already there.
set -euo pipefail

# The native architecture's package only: with the arm64 cross packages
# installed, an unqualified query prints both versions run together. The
# source version (a binNMU's "+bN" is not in the source package's).
deb_version=$(dpkg-query -W -f='${source:Version}' "libprotobuf-dev:$(dpkg --print-architecture)")
upstream=${deb_version#*:}
upstream=${upstream%%-*}
root=${FL_DEPS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fl-deps}
dest=$root/protobuf-$upstream
if [[ -f $dest/.fl-debian-version && $(cat "$dest/.fl-debian-version") == "$deb_version" ]]; then
  exit 0
fi

command -v dpkg-source >/dev/null || {
  echo "fetch-protobuf-source: dpkg-source is missing (Debian package dpkg-dev)" >&2; exit 1; }

. /etc/os-release
codename=${VERSION_CODENAME:?/etc/os-release has no VERSION_CODENAME}
apt_dir=$root/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<LIST
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename main
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename-updates main
deb-src [signed-by=$keyring] http://deb.debian.org/debian-security $codename-security main
LIST
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "Debug::NoLocking=true" -o "APT::Sandbox::User=$(id -un)")
echo "fetch-protobuf-source: apt-get source protobuf=$deb_version"
apt-get "${apt_opts[@]}" update -qq
work=$(mktemp -d "$root/protobuf-src.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The Sources index is signed by the archive key and pins the files' hashes,
# so what apt downloads is authenticated; dpkg-source then unpacks and applies
# Debian's patches.
(cd "$work" && apt-get "${apt_opts[@]}" source -qq --download-only "protobuf=$deb_version" &&
  dpkg-source -x ./*.dsc src >dpkg-source.log 2>&1 ||
  { cat dpkg-source.log >&2; exit 1; })
[[ -f $work/src/src/google/protobuf/arena.cc ]] || {
  echo "fetch-protobuf-source: unexpected source layout in $work/src" >&2; exit 1; }
rm -rf "$dest"
mv "$work/src" "$dest"
echo "$deb_version" >"$dest/.fl-debian-version"
echo "fetch-protobuf-source: protobuf $deb_version source in $dest"
