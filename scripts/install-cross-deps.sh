#!/usr/bin/env bash
# Installs, by Debian package name, what the aarch64 cross build of the client
# SDK and its emulated run need (scripts/test-arm64.sh): the cross compilers,
# qemu-user, and the arm64 -dev packages that libfl_client links. Idempotent:
# when all are installed it touches neither dpkg's architectures nor apt.
#
# Multiarch: every arm64 -dev package below is Multi-Arch: same, so it installs
# beside its amd64 twin (apt upgrades the amd64 twin to the same version when
# they differ; it removes nothing). yaml-cpp, SQLite, CLI11 and the rest of the
# coordinator's dependencies are not needed: the cross build is FL_SDK_ONLY.
# The generated protobuf code comes from the host's protoc (protobuf-compiler,
# installed by install-deps.sh), which is the same 3.21.12 as libprotobuf-dev:arm64.
set -euo pipefail

packages=(
  g++-aarch64-linux-gnu gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-user                          # qemu-aarch64 runs the arm64 client here
  time bc                            # the test's CPU-time and round-time figures
  protobuf-compiler                  # host protoc for the generated code
  libsodium-dev:arm64
  libprotobuf-dev:arm64
  libssl-dev:arm64
  libboost-dev:arm64 libboost-system-dev:arm64  # Beast/Asio headers + Boost.System
  zlib1g-dev:arm64
)

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "install-cross-deps: installing ${missing[*]}"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq  # the arm64 package lists are new
elif ! apt-cache show libsodium-dev:arm64 >/dev/null 2>&1; then
  $SUDO apt-get update -qq  # arm64 added earlier, but its lists were never fetched
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
