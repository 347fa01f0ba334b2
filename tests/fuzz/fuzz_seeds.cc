// Writes the fuzzers' seed corpora from real traffic: every message of a
// recorded secure aggregation round, a genuinely signed request, a working
// coordinator configuration and a real model file. Run at test time, so no
// binary seed files live in the repository.
//   fuzz_seeds OUTPUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "crypto/ed25519.h"
#include "model/model.h"
#include "model/serialization.h"
#include "protocol/request_signer.h"
#include "tests/fuzz/secagg_transcript.h"

namespace fs = std::filesystem;

static void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUTPUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  const auto& t = fl::fuzz::transcript();
  for (int s = 0; s < 4; ++s)
    for (int i = 0; i < 4; ++i)
      write(out / "secagg_server" / ("s" + std::to_string(s) + "c" + std::to_string(i)),
            std::string(1, static_cast<char>(s)) + std::string(1, static_cast<char>(i)) +
                t.up[s][i].SerializeAsString());
  for (int s = 0; s < 3; ++s)
    write(out / "secagg_client" / ("s" + std::to_string(s)),
          std::string(1, static_cast<char>(s)) + t.down[s][0].SerializeAsString());

  fl::crypto::SeededRng rng(1);
  fl::auth::RequestSigner signer(
      7, fl::crypto::ed25519_keypair(rng), "fuzz-coordinator",
      [] { return int64_t{1'700'000'000'000}; }, std::make_unique<fl::crypto::SeededRng>(2));
  const std::string body = "checkin-body";
  std::string req = "POST\n/v1/checkin\n";
  std::string client, ts, nonce, hash, sig;
  for (const auto& [k, v] : signer.sign("POST", "/v1/checkin", body)) {
    if (k == "X-FL-Client") client = v;
    if (k == "X-FL-Timestamp") ts = v;
    if (k == "X-FL-Nonce") nonce = v;
    if (k == "X-FL-Body-Hash") hash = v;
    if (k == "X-FL-Signature") sig = v;
  }
  write(out / "request_auth" / "signed",
        req + client + "\n" + ts + "\n" + nonce + "\n" + hash + "\n" + sig + "\n" + body);

  write(out / "coordinator_config" / "minimal",
        "listen: {address: 127.0.0.1, port: 0}\nadmin_token: abcdefghijklmnopqrstuvwxyz\n"
        "population:\n  name: p\n  model: {name: m, kind: softmax, input_dim: 4, classes: 3}\n"
        "  cohort_size: 3\n  min_cohort: 3\n"
        "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n"
        "  secure_aggregation: {graph: harary, degree: 2, threshold: 2}\n");
  auto model = fl::model::create_model(fl::model::ModelSpec::softmax_regression(6, 3), 1);
  write(out / "model_file" / "softmax", *fl::model::save_model(*model));
  // Serving requests (a model of 4 features): both APIs, rows and columns.
  write(out / "predict_request" / "tf_rows",
        R"({"instances": [[1, 2.5, -3e-2, 4], [0, 0, 0, 1]]})");
  write(out / "predict_request" / "tf_columns",
        R"({"signature_name": "serving_default", "inputs": {"inputs": [[1, 2, 3, 4]]}})");
  write(out / "predict_request" / "tf_objects", R"({"instances": [{"inputs": [1, 2, 3, 4]}]})");
  write(
      out / "predict_request" / "kserve",
      R"({"id": "a", "inputs": [{"name": "inputs", "shape": [2, 4], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6, 7, 8]}], "outputs": [{"name": "classes"}]})");
  write(
      out / "predict_request" / "kserve_nested",
      R"({"inputs": [{"name": "inputs", "shape": [1, 4], "datatype": "INT32", "data": [[1, 2, 3, 4]]}]})");
  return 0;
}
