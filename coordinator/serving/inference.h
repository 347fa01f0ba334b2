// Runs one batch of rows through a served version and lays the answer out as
// the signature's output tensors (signature.h), ready for either API's writer.
//
// Not for: parsing or writing JSON (tfserving_*, kserve_*), or batching
// requests together: each request is predicted on its own io thread.
//
// Thread-safety: reentrant; any number of threads may infer with one version.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "coordinator/serving/served_version.h"
#include "model/dataset.h"

namespace fl::serving {

struct OutputTensor {
  const OutputSpec* spec = nullptr;  // points into the ServedVersion's signature
  Eigen::MatrixXf floats;            // kFloat32: n x max(width, 1)
  Eigen::VectorXi ints;              // kInt64: n (class indices fit in int)
};

struct Inference {
  int64_t rows = 0;
  std::vector<OutputTensor> outputs;  // in signature order
};

// `rows` must have version.signature.input_dim columns and at least one row.
Result<Inference> run_inference(const ServedVersion& version,
                                const Eigen::Ref<const model::FeatureMatrix>& rows);

// InvalidArgument "the model's output for row N is not finite ..." for the
// first row (from 0) with a NaN or infinite float output. Finite float32
// inputs far outside the training range (3e38 everywhere) overflow a layer;
// the answer would then be null probabilities and a class picked from NaNs,
// so the APIs answer 422 with this message instead of any class.
Status check_finite_outputs(const Inference& inference);

}  // namespace fl::serving
