// A minimal fork-join helper for the few CPU-heavy steps of the protocol core
// (unmasking). The call returns only when every task has finished, so the core
// still owns no thread beyond the call and stays deterministic: tasks write to
// disjoint outputs.
#pragma once

#include <cstddef>
#include <functional>

namespace fl::aggregation {

// Runs fn(i) for i in [0, count) on up to `threads` threads (the caller's
// thread included). threads <= 1 runs inline.
void parallel_for(size_t count, unsigned threads, const std::function<void(size_t)>& fn);

}  // namespace fl::aggregation
