#include "model/fashion_mnist.h"

#include <filesystem>

#include "model/idx_reader.h"

namespace fl::model {

const std::array<std::string_view, kFashionMnistClasses>& fashion_mnist_class_names() {
  static const std::array<std::string_view, kFashionMnistClasses> kNames = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return kNames;
}

Result<Dataset> load_idx_pair(const std::string& images_path, const std::string& labels_path,
                              int num_classes) {
  Result<IdxArray> images = read_idx(images_path);
  if (!images.ok()) return images.status();
  Result<IdxArray> labels = read_idx(labels_path);
  if (!labels.ok()) return labels.status();
  if (images->dims.size() < 2) {
    return DataLoss(images_path + ": expected an image array (at least 2 dimensions), found " +
                    std::to_string(images->dims.size()));
  }
  if (labels->dims.size() != 1) {
    return DataLoss(labels_path + ": expected a 1-dimensional label array, found " +
                    std::to_string(labels->dims.size()) + " dimensions");
  }
  const int64_t n = images->dims[0];
  if (labels->dims[0] != n) {
    return DataLoss(labels_path + " has " + std::to_string(labels->dims[0]) + " labels but " +
                    images_path + " has " + std::to_string(n) + " images");
  }
  const int64_t pixels = n == 0 ? 0 : static_cast<int64_t>(images->data.size()) / n;

  Dataset out;
  out.num_classes = num_classes;
  out.source = images_path;
  out.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const int label = labels->data[i];
    if (label >= num_classes) {
      return DataLoss(labels_path + ": label " + std::to_string(label) + " of example " +
                      std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
    }
    out.labels[i] = label;
  }
  out.features.resize(n, pixels);
  const Eigen::Map<const Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      raw(images->data.data(), n, pixels);
  out.features = raw.cast<float>() * (1.0f / 255.0f);
  return out;
}

Result<Dataset> load_fashion_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  auto path_of = [&](const std::string& name) {
    const std::filesystem::path gz = std::filesystem::path(dir) / (name + ".gz");
    const std::filesystem::path plain = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (!std::filesystem::exists(gz, ec) && std::filesystem::exists(plain, ec)) {
      return plain.string();
    }
    return gz.string();
  };
  Result<Dataset> data =
      load_idx_pair(path_of(prefix + "-images-idx3-ubyte"), path_of(prefix + "-labels-idx1-ubyte"),
                    kFashionMnistClasses);
  if (!data.ok()) return data.status();
  if (data->dim() != kFashionMnistPixels) {
    return DataLoss(data->source + ": Fashion-MNIST images are 28x28, found " +
                    std::to_string(data->dim()) + " pixels per image");
  }
  return data;
}

}  // namespace fl::model
