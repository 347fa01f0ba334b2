// FL_EXPORT: marks what libfl_client.so exports, the public API of the SDK.
//
// The shared library is built with -fvisibility=hidden, so everything not
// marked stays private to it (the wire code, crypto, transport, and the
// protobuf runtime linked into it). Marked: the classes and free functions of
// the fl/*.h headers that have out-of-line definitions. Header-only types
// (fl::Status, fl::Result, option structs) need no mark. For the static
// archive the mark is harmless.
//
// Thread-safety: not applicable (macros only).
#pragma once

#if defined(_WIN32)
#define FL_EXPORT
#elif defined(__GNUC__)
#define FL_EXPORT __attribute__((visibility("default")))
#else
#define FL_EXPORT
#endif
