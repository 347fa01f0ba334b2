// Writes the fuzzers' seed corpora from real traffic: every message of a
// recorded secure aggregation round, a genuinely signed request, a working
// coordinator configuration and a real model file. Run at test time, so no
// binary seed files live in the repository. The HTTP seeds are hand-written
// attacks (request smuggling, Transfer-Encoding variants, Host, sizes,
// stalled bodies, bad signatures) next to genuinely signed requests.
//   fuzz_seeds OUTPUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

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

// Hostile and honest HTTP traffic for fuzz_http_request (its router: a signed
// update route, an admin route, an open /v1/enroll, GET /v1/poll).
static void write_http_seeds(const fs::path& dir, fl::auth::RequestSigner& signer) {
  auto signed_upload = [&](const std::string& body, const std::string& sent_body,
                           bool tamper_signature = false) {
    std::string request = "POST /v1/rounds/3/update HTTP/1.1\r\nHost: c\r\n";
    for (auto [k, v] : signer.sign("POST", "/v1/rounds/3/update", body)) {
      if (tamper_signature && k == "X-FL-Signature") v[0] = v[0] == 'a' ? 'b' : 'a';
      request += k + ": " + v + "\r\n";
    }
    return request + "Content-Length: " + std::to_string(sent_body.size()) + "\r\n\r\n" + sent_body;
  };
  const std::string smuggled = "GET /v1/poll?round=9 HTTP/1.1\r\nHost: c\r\n\r\n";
  const std::string enroll = "POST /v1/enroll HTTP/1.1\r\nHost: c\r\n";
  write(dir / "poll", smuggled);
  write(dir / "pipelined", smuggled + smuggled + "GET /v1/poll HTTP/1.0\r\n\r\n");
  write(dir / "signed_empty", signed_upload("", ""));
  write(dir / "signed_body", signed_upload("masked", "masked"));
  write(dir / "signed_swapped_body", signed_upload("masked", "maskeD"));
  write(dir / "bad_signature", signed_upload("", "", true));
  std::string stalled_forgery = signed_upload("", "", true);
  stalled_forgery.replace(stalled_forgery.find("Content-Length: 0"), 17, "Content-Length: 600");
  write(dir / "bad_signature_stalled", stalled_forgery + "only-some");
  write(dir / "admin",
        "POST /v1/admin/publish HTTP/1.1\r\nHost: c\r\n"
        "Authorization: Bearer fuzz-admin-token-0123456789\r\n"
        "Content-Length: 0\r\n\r\n");
  write(dir / "admin_wrong",
        "POST /v1/admin/publish HTTP/1.1\r\nHost: c\r\n"
        "Authorization: Bearer guess\r\nContent-Length: 0\r\n\r\n");
  write(dir / "enroll", enroll + "Content-Length: 5\r\n\r\nhello");
  write(dir / "predict_chunked",
        "POST /v1/models/m:predict HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
            smuggled);
  write(dir / "enroll_over_budget", enroll + "Content-Length: 900\r\n\r\n" + std::string(900, 'x'));
  write(dir / "huge_content_length", enroll + "Content-Length: 99999999999\r\n\r\nabc");
  write(dir / "stalled_body", enroll + "Content-Length: 600\r\n\r\nonly-some");
  for (const auto& [name, framing] : std::vector<std::pair<std::string, std::string>>{
           {"te_gzip", "Transfer-Encoding: gzip\r\n"},
           {"te_identity", "Transfer-Encoding: identity\r\n"},
           {"te_chunked_gzip", "Transfer-Encoding: chunked, gzip\r\n"},
           {"te_two_fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"},
           {"te_and_length", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"},
           {"length_and_te", "Content-Length: 0\r\nTransfer-Encoding: gzip\r\n"},
       })
    write(dir / ("smuggle_" + name), enroll + framing + "\r\n" + smuggled);
  write(dir / "no_host", "GET /v1/poll HTTP/1.1\r\n\r\n");
  write(dir / "two_hosts", "GET /v1/poll HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  write(dir / "wrong_method", "DELETE /v1/enroll HTTP/1.1\r\nHost: c\r\n\r\n");
  write(dir / "unknown_path", "GET /nothing HTTP/1.1\r\nHost: c\r\n\r\n");
}

// Hostile serving requests (a model of 4 features): nesting past the depth
// limit (the 100,000-deep "shape" that once crashed the coordinator), numbers
// beyond float32 and double, invalid UTF-8 and long text to be quoted.
static void write_hostile_predict_requests(const fs::path& dir) {
  const auto nested = [](int depth, const std::string& open, const std::string& inner,
                         const std::string& close) {
    std::string text;
    for (int i = 0; i < depth; ++i) text += open;
    text += inner;
    for (int i = 0; i < depth; ++i) text += close;
    return text;
  };
  const std::string tensor = R"({"inputs": [{"name": "inputs", "datatype": "FP32", )";
  write(dir / "kserve_deep_shape",
        tensor + R"("shape": )" + nested(100'000, "[", "", "]") + R"(, "data": [1, 2, 3, 4]}]})");
  write(dir / "kserve_deep_data",
        tensor + R"("shape": [1, 4], "data": )" + nested(1'000, "[", "1", "]") + "}]}");
  write(dir / "kserve_deep_parameters", tensor + R"("shape": [1, 4], "data": [1, 2, 3, 4]}], )" +
                                            R"("parameters": )" +
                                            nested(100, "{\"p\": ", "1", "}") + "}");
  write(dir / "tf_deep_rows", R"({"instances": )" + nested(65, "[", "1", "]") + "}");
  write(dir / "tf_deep_objects",
        R"({"instances": [)" + nested(100, "{\"inputs\": ", "[1, 2, 3, 4]", "}") + "]}");
  write(dir / "tf_unclosed", std::string(5'000, '['));
  write(dir / "tf_float_max", R"({"instances": [[3e38, 3e38, 3e38, 3e38]]})");
  write(dir / "tf_beyond_float", R"({"instances": [[1, 1e39, 1, 1]]})");
  write(dir / "tf_beyond_double", R"({"inputs": [[1, 2, 3, 1e99999]]})");
  write(dir / "kserve_beyond_float", tensor + R"("shape": [1, 4], "data": [1, 2, -1e39, 4]}]})");
  write(dir / "kserve_invalid_utf8_id", "{\"id\": \"\xff\xfe\xc0\xaf\xed\xa0\x80\", " +
                                            tensor.substr(1) +
                                            R"("shape": [1, 4], "data": [1, 2, 3, 4]}]})");
  write(dir / "tf_invalid_utf8_key", "{\"instances\": [{\"in\xffputs\": [1, 2, 3, 4]}]}");
  write(dir / "tf_long_signature",
        R"({"signature_name": ")" + std::string(4'000, 'x') + R"(", "instances": [[1, 2, 3, 4]]})");
  write(dir / "kserve_long_output", tensor + R"("shape": [1, 4], "data": [1, 2, 3, 4]}], )" +
                                        R"("outputs": [{"name": ")" + std::string(4'000, '\xe9') +
                                        R"("}]})");
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

  write_http_seeds(out / "http_request", signer);

  write(out / "coordinator_config" / "minimal",
        "listen: {address: 127.0.0.1, port: 0}\nadmin_token: abcdefghijklmnopqrstuvwxyz\n"
        "population:\n  name: p\n  model: {name: m, kind: softmax, input_dim: 4, classes: 3}\n"
        "  cohort_size: 3\n  min_cohort: 3\n  allow_small_cohorts: true\n"
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
  write_hostile_predict_requests(out / "predict_request");
  return 0;
}
