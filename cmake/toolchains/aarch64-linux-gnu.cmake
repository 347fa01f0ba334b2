# Cross-compiling the client SDK for 64-bit ARM Linux (aarch64) on Debian 12,
# with Debian's cross compilers and its multiarch arm64 -dev packages
# (scripts/install-cross-deps.sh installs both):
#
#   cmake -S . -B build-aarch64 -G Ninja -DFL_SDK_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# No sysroot: on a multiarch Debian the target's headers and libraries live in
# the host's own tree, under /usr/include/aarch64-linux-gnu and
# /usr/lib/aarch64-linux-gnu, which Debian's aarch64-linux-gnu-gcc already
# searches. What this file adds is that CMake's and pkg-config's searches look
# there and never at the host's x86-64 libraries, while programs run at build
# time (protoc) come from the host. Only the SDK cross-builds: the
# coordinator's dependencies (yaml-cpp above all) have arm64 -dev packages that
# conflict with their amd64 twins, so use -DFL_SDK_ONLY=ON.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(FL_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${FL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FL_CROSS_TRIPLE}-g++)
# Multiarch: find_library and find_package look in lib/aarch64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE ${FL_CROSS_TRIPLE})

# Libraries, headers and CMake packages: the target's only. Programs: the
# host's (protoc generates the code; it is the same protobuf 3.21.12 as
# libprotobuf-dev:arm64, as the generated code requires).
set(CMAKE_FIND_ROOT_PATH /usr/${FL_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# BOTH, not ONLY: the multiarch files sit under /usr, outside the root path.
# What keeps x86-64 libraries out is the architecture directory above and that
# Debian installs no libraries of its own architecture in /usr/lib itself
# (protobuf, sodium, ssl, boost and zlib are all under lib/<triple>).
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
                      /usr/lib/x86_64-linux-gnu/cmake)

# pkg-config (libsodium): the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${FL_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# The host's protoc. FindProtobuf looks for it with find_program, which the
# PROGRAM mode above sends to the host; naming it here also keeps the host's
# x86-64 libprotoc out of the search for the target's libraries.
find_program(Protobuf_PROTOC_EXECUTABLE protoc REQUIRED)

# Run target programs (try_run, tests) under qemu-user, with the multiarch tree
# as the guest's root: the cross ld.so in /usr/aarch64-linux-gnu and the
# multiarch libc6:arm64 differ in version, so -L / (not -L /usr/aarch64-linux-gnu).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
