#include "simulations/run_common.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "aggregation/parallel.h"
#include "model/metrics.h"
#include "model/train.h"

namespace fl::sim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// fl-train's defaults (Adam, cosine decay), on the pooled training data.
Result<double> centralized_baseline(const Scenario& sc, const FederatedData& data,
                                    const model::ModelSpec& spec,
                                    const std::vector<model::Dataset>& test_parts) {
  std::vector<int64_t> all(static_cast<size_t>(data.train_size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  const model::Dataset train = data.rows(all);
  auto m = model::create_model(spec, sc.seed);
  if (!m.ok()) return m.status();
  model::TrainConfig c;
  c.epochs = sc.baseline_epochs;
  c.optimizer = model::OptimizerKind::kAdam;
  c.schedule.kind = model::LrScheduleKind::kCosine;
  c.batch_size = spec.kind == model::ModelKind::kMlp ? 64 : 128;
  c.lr = spec.kind == model::ModelKind::kMlp ? 1e-3f : 2e-3f;
  c.seed = sc.seed;
  c.num_threads = sc.threads;
  auto report = model::train(*m, train, c);
  if (!report.ok()) return report.status();
  auto e = evaluate_on_test(*m, test_parts);
  if (!e.ok()) return e.status();
  return e->accuracy;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f KB", b / 1e3);
  return buf;
}

}  // namespace

Result<model::ModelSpec> model_spec(const ModelSection& m, int dim, int classes) {
  if (m.kind == "softmax") return model::ModelSpec::softmax_regression(dim, classes);
  auto act = model::parse_activation(m.activation);
  if (!act.ok()) return act.status();
  return model::ModelSpec::mlp(dim, classes, m.hidden, *act);
}

std::vector<model::Dataset> split_test_set(const model::Dataset& test, unsigned threads) {
  std::vector<model::Dataset> test_parts;
  const int64_t n = test.size();
  const int64_t parts = std::min<int64_t>(threads, std::max<int64_t>(n, 1));
  for (int64_t k = 0; k < parts; ++k) {
    std::vector<int64_t> idx;
    for (int64_t i = n * k / parts; i < n * (k + 1) / parts; ++i) idx.push_back(i);
    test_parts.push_back(model::subset(test, idx));
  }
  return test_parts;
}

Result<Evaluation> evaluate_on_test(const model::Model& m,
                                    const std::vector<model::Dataset>& parts) {
  std::vector<std::optional<model::Metrics>> results(parts.size());
  std::mutex mu;
  Status error;
  aggregation::parallel_for(parts.size(), static_cast<unsigned>(parts.size()), [&](size_t k) {
    auto r = model::evaluate(m, parts[k]);
    if (!r.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      error = r.status();
      return;
    }
    results[k] = std::move(*r);
  });
  if (!error.ok()) return error;
  Evaluation e;
  double n = 0;
  for (const auto& r : results) {
    const double count = static_cast<double>(r->count);
    n += count;
    e.accuracy += r->classification->accuracy * count;
    e.loss += (r->classification->log_loss ? *r->classification->log_loss : r->loss) * count;
  }
  e.accuracy /= n;
  e.loss /= n;
  return e;
}

Status resolve_baseline(const Scenario& sc, const FederatedData& data, const model::ModelSpec& spec,
                        const std::vector<model::Dataset>& test_parts, std::FILE* progress,
                        RunResult& out) {
  if (sc.baseline == "centralized") {
    const auto t = Clock::now();
    auto b = centralized_baseline(sc, data, spec, test_parts);
    if (!b.ok()) return b.status();
    out.baseline = *b;
    out.baseline_source = "centralized, " + std::to_string(sc.baseline_epochs) + " epochs";
    if (progress)
      std::fprintf(progress, "centralised baseline: accuracy %.4f (%.1fs)\n", *b, seconds_since(t));
  } else if (sc.baseline != "none") {
    char* end = nullptr;
    const double v = std::strtod(sc.baseline.c_str(), &end);
    if (end && *end == '\0') {
      out.baseline = v;
      out.baseline_source = "given";
    } else {
      auto b = read_baseline_file(sc.baseline);
      if (!b.ok()) return b.status();
      out.baseline = *b;
      out.baseline_source = sc.baseline;
    }
  }

  return Status::Ok();
}

void print_run_header(std::FILE* progress, const Scenario& sc, const FederatedData& data,
                      const RunResult& out) {
  const model::PartitionSummary& ps = out.partition;
  std::fprintf(
      progress, "scenario %s (%s): %s, %lld train / %lld test examples; %s, %lld parameters\n",
      sc.name.c_str(), sc.file.c_str(), data.name().c_str(),
      static_cast<long long>(data.train_size()), static_cast<long long>(data.test().size()),
      out.model_description.c_str(), static_cast<long long>(out.num_params));
  std::fprintf(progress,
               "partition %s over %lld clients: examples per client min %lld / median %lld / max "
               "%lld; classes per client %.2f of %d; label entropy %.2f of %.2f bits; "
               "distance from the pooled labels (TV) %.3f\n",
               model::partition_kind_name(sc.partition.kind).c_str(),
               static_cast<long long>(ps.clients), static_cast<long long>(ps.min_size),
               static_cast<long long>(ps.median_size), static_cast<long long>(ps.max_size),
               ps.mean_classes, data.num_classes(), ps.mean_entropy_bits, ps.max_entropy_bits,
               ps.mean_total_variation);
  std::fflush(progress);
}

void print_round(std::FILE* f, const RoundRecord& r, int rounds) {
  if (r.network) {
    std::fprintf(f, "round %3d/%d  cohort %lld/%lld online  drop %u/%u/%u/%u", r.round, rounds,
                 static_cast<long long>(r.cohort), static_cast<long long>(r.available),
                 r.dropped[0], r.dropped[1], r.dropped[2], r.dropped[3]);
    std::fprintf(f, "  in %lld %s", static_cast<long long>(r.included), r.status.c_str());
    if (r.accuracy) std::fprintf(f, "  acc %.4f loss %.4f", *r.accuracy, *r.loss);
    if (r.version) std::fprintf(f, "  version %lld", static_cast<long long>(*r.version));
    std::fprintf(f, "  | coordinator round %lld  eval %.2fs  wall %.2fs\n",
                 static_cast<long long>(r.coordinator_round), r.eval_s, r.wall_s);
    std::fflush(f);
    return;
  }
  std::fprintf(f, "round %3d/%d  cohort %lld/%lld online  drop %u/%u/%u/%u", r.round, rounds,
               static_cast<long long>(r.cohort), static_cast<long long>(r.available), r.dropped[0],
               r.dropped[1], r.dropped[2], r.dropped[3]);
  if (r.stragglers) std::fprintf(f, " (%u late)", r.stragglers);
  std::fprintf(f, "  in %lld %s", static_cast<long long>(r.included), r.status.c_str());
  if (r.accuracy) std::fprintf(f, "  acc %.4f loss %.4f", *r.accuracy, *r.loss);
  if (r.version)
    std::fprintf(f, "  v%lld %s", static_cast<long long>(*r.version),
                 r.published ? "published" : "held");
  if (r.epsilon) std::fprintf(f, "  eps %.3g", *r.epsilon);
  std::fprintf(f, "  up %s down %s", human_bytes(r.bytes_up).c_str(),
               human_bytes(r.bytes_down).c_str());
  std::fprintf(f,
               "  | train %.2fs client %.2fs (cpu)  server %.2fs  agg+eval %.3fs  wall %.2fs"
               "  sim %.1fs\n",
               r.train_cpu_s, r.client_cpu_s, r.server_s, r.aggregate_s + r.eval_s, r.wall_s,
               r.sim_s);
  std::fflush(f);
}

}  // namespace fl::sim
