# BLAKE3's official C implementation, as Debian ships it: the `blake3` Rust
# crate's source (package librust-blake3-dev, CC0-1.0 or Apache-2.0) carries
# the reference C library in c/, and Debian 12 packages no other C build of
# it. It hashes the bodies of signed requests (protocol/signature_scheme.h):
# 8 GB/s on one core of this project's machine, where libsodium's BLAKE2b
# does 0.8 and OpenSSL's SHA-256 (SHA-NI) 1.5.
#
# The SIMD variants are the intrinsics files, each built with its own ISA
# flag; blake3_dispatch.c picks one at run time from CPUID, so the library
# runs on any x86-64 and uses AVX-512 where it exists. Elsewhere: portable C.
file(GLOB FL_BLAKE3_DIRS LIST_DIRECTORIES true /usr/share/cargo/registry/blake3-*/c)
list(SORT FL_BLAKE3_DIRS)
list(POP_BACK FL_BLAKE3_DIRS FL_BLAKE3_DIR)
if(NOT FL_BLAKE3_DIR OR NOT EXISTS "${FL_BLAKE3_DIR}/blake3.c")
  message(FATAL_ERROR "BLAKE3's C sources not found: install Debian's librust-blake3-dev "
                      "(scripts/install-deps.sh does)")
endif()
set(B ${FL_BLAKE3_DIR})
add_library(blake3 STATIC ${B}/blake3.c ${B}/blake3_dispatch.c ${B}/blake3_portable.c)
target_include_directories(blake3 SYSTEM PUBLIC ${B})
# Third-party code: its own style, not ours; -O3 as for our hot loops.
target_compile_options(blake3 PRIVATE -O3 -w)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  target_sources(blake3 PRIVATE ${B}/blake3_sse2.c ${B}/blake3_sse41.c ${B}/blake3_avx2.c
                                ${B}/blake3_avx512.c)
  set_source_files_properties(${B}/blake3_sse2.c PROPERTIES COMPILE_OPTIONS "-msse2")
  set_source_files_properties(${B}/blake3_sse41.c PROPERTIES COMPILE_OPTIONS "-msse4.1")
  set_source_files_properties(${B}/blake3_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2")
  set_source_files_properties(${B}/blake3_avx512.c PROPERTIES COMPILE_OPTIONS
                                                             "-mavx512f;-mavx512vl")
else()
  target_compile_definitions(blake3 PRIVATE BLAKE3_NO_SSE2 BLAKE3_NO_SSE41 BLAKE3_NO_AVX2
                                            BLAKE3_NO_AVX512 BLAKE3_USE_NEON=0)
endif()
