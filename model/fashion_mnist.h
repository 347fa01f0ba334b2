// Fashion-MNIST (Xiao et al., 2017) as Debian's dataset-fashion-mnist ships
// it: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz in one directory.
//
// Pixels are scaled to [0, 1] (the model needs no further standardisation);
// labels are the 10 clothing classes. Plain (gunzipped) files are accepted
// too, under the same names without ".gz".
//
// Thread-safety: reentrant.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/dataset.h"

namespace fl::model {

enum class Split { kTrain, kTest };

inline constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistClasses = 10;
inline constexpr int kFashionMnistPixels = 28 * 28;

// T-shirt/top, Trouser, ... Ankle boot, indexed by label.
const std::array<std::string_view, kFashionMnistClasses>& fashion_mnist_class_names();

Result<Dataset> load_fashion_mnist(const std::string& dir, Split split);

// Reads an IDX image file and its label file (any MNIST-like pair).
Result<Dataset> load_idx_pair(const std::string& images_path, const std::string& labels_path,
                              int num_classes);

}  // namespace fl::model
