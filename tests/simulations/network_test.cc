// Network mode: a scenario run by a real fl-coordinator and real fl-client
// processes reports one row per round like in-process mode, each fl-client
// trains on exactly the examples in-process client I would, and what network
// mode cannot honour is refused before any process starts.
#include "simulations/network.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client_sdk/shard.h"
#include "model/fashion_mnist.h"
#include "model/partition.h"
#include "simulations/scenario_data.h"
#include "simulations/scenario_run.h"
#include "tests/integration/process.h"

namespace fl::sim {
namespace {

namespace fs = std::filesystem;

bool have_fashion_mnist() {
  return fs::exists(std::string(model::kDefaultFashionMnistDir) + "/train-labels-idx1-ubyte.gz");
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("fl_sim_network_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream text(read_text(path));
  for (std::string line; std::getline(text, line);) {
    std::vector<std::string> cells;
    std::stringstream l(line);
    for (std::string cell; std::getline(l, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// Processes whose parent is this test: fl-sim must leave none behind.
int live_children() {
  int n = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string stat = read_text(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid() &&
        state != 'Z')
      ++n;
  }
  return n;
}

std::string run_error(const fs::path& scenario, const std::vector<std::string>& sets,
                      const NetworkBinaries& binaries, int& code) {
  std::FILE* err = std::tmpfile();
  code = run_scenario_command(scenario.string(), sets, nullptr, err, binaries);
  std::rewind(err);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, err)) > 0;) text.append(buf, n);
  std::fclose(err);
  return text;
}

TEST(NetworkMode, ShortScenarioCompletesWithOneRowPerRoundAndLeavesNoProcess) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  const fs::path dir = fresh_dir("short");
  std::ofstream(dir / "short.yaml")
      << "name: short\nseed: 5\nmode: network\n"
         "data: {source: fashion-mnist, train_limit: 3000, "
         "test_limit: 1000}\n"
         "partition: {kind: dirichlet, alpha: 0.5, min_examples: 50}\n"
         "clients: 6\nclients_per_round: 4\nrounds: 2\n"
         "model: {kind: softmax}\n"
         "local: {epochs: 2, lr: 0.05}\n"
         "secagg: {graph: complete}\n"
         "network: {over_selection: 1.5, timeout_s: 180}\n"
         "output: " +
             (dir / "out").string() + "\n";
  int code = 0;
  const std::string err = run_error(dir / "short.yaml", {}, default_network_binaries(), code);
  ASSERT_EQ(code, 0) << err;
  EXPECT_EQ(live_children(), 0);

  const auto rows = read_csv(dir / "out" / "rounds.csv");
  ASSERT_EQ(rows.size(), 3u);  // header + one row per round
  const auto& header = rows[0];
  const auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  ASSERT_LT(column("version"), header.size());
  int64_t last_version = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), header.size());
    EXPECT_EQ(rows[r][column("status")], "completed");
    EXPECT_EQ(rows[r][column("round")], std::to_string(r));
    const int64_t version = std::stoll(rows[r][column("version")]);
    EXPECT_GT(version, last_version);
    last_version = version;
    EXPECT_GE(std::stoi(rows[r][column("included")]), 4);
    EXPECT_EQ(rows[r][column("train_loss")], "");  // only the clients know it
  }
  EXPECT_GT(std::stod(rows.back()[column("test_accuracy")]), 0.3);  // chance is 0.1
  EXPECT_TRUE(fs::exists(dir / "out" / "accuracy.svg"));
  EXPECT_NE(read_text(dir / "out" / "summary.json").find("\"mode\": \"network\""),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(NetworkMode, FlClientPartitionEqualsTheInProcessClientsData) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  DataSpec spec;
  spec.source = "fashion-mnist";
  spec.train_limit = 4000;
  const uint64_t seed = 11;
  auto sim = FederatedData::load(spec, seed);
  ASSERT_TRUE(sim.ok()) << sim.status().to_string();
  auto full = model::load_fashion_mnist(spec.dir, model::Split::kTrain);
  ASSERT_TRUE(full.ok());
  for (const char* text : {"iid", "dirichlet:0.3", "shards:2", "quantity:power_law:1.5"}) {
    auto kind = model::parse_partition_spec(text);
    ASSERT_TRUE(kind.ok());
    kind->min_examples = 10;
    const int64_t clients = 7;
    auto partition =
        model::make_partition(sim->train_labels(), sim->num_classes(), clients, *kind, seed);
    ASSERT_TRUE(partition.ok());
    for (int64_t i = 0; i < clients; ++i) {
      const model::Dataset in_process = sim->rows((*partition)[static_cast<size_t>(i)]);
      auto mine = client_sdk::partition_shard_indices(
          full->labels, full->num_classes,
          {.spec = *kind, .clients = clients, .index = i, .seed = seed, .data_limit = 4000});
      ASSERT_TRUE(mine.ok()) << mine.status().to_string();
      const model::Dataset process = model::subset(*full, *mine);
      ASSERT_EQ(process.size(), in_process.size()) << text << " client " << i;
      EXPECT_TRUE(process.labels == in_process.labels) << text << " client " << i;
      EXPECT_TRUE(process.features == in_process.features) << text << " client " << i;
    }
  }
}

TEST(NetworkMode, UnsupportedKeyFailsBeforeAnythingStartsNamingFileKeyAndLine) {
  const fs::path dir = fresh_dir("unsupported");
  const fs::path file = dir / "drops.yaml";
  std::ofstream(file) << "name: drops\n"
                         "mode: network\n"
                         "data: {source: fashion-mnist}\n"
                         "clients: 6\n"
                         "clients_per_round: 4\n"
                         "network: {over_selection: 1.5}\n"
                         "dropout:\n"
                         "  before_masked_input: 0.1\n"
                         "output: " +
                             (dir / "out").string() + "\n";
  // Binaries that do not exist: any attempt to start one would fail differently.
  const NetworkBinaries nowhere{"/nonexistent/fl-coordinator", "/nonexistent/fl-client"};
  int code = 0;
  std::string err = run_error(file, {}, nowhere, code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find(file.string() + ":8:"), std::string::npos) << err;
  EXPECT_NE(err.find("dropout.before_masked_input"), std::string::npos) << err;
  EXPECT_NE(err.find("network mode"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir / "out"));

  // The same refusal when --set switches an in-process scenario to network mode.
  std::ofstream(dir / "synthetic.yaml") << "name: synthetic\nclients: 6\nclients_per_round: 4\n"
                                           "network: {over_selection: 1.5}\n"
                                           "availability: 0.9\n";
  err = run_error(dir / "synthetic.yaml", {"mode=network"}, nowhere, code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("synthetic.yaml:5:"), std::string::npos) << err;
  EXPECT_NE(err.find("availability"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(NetworkMode, FlClientRefusesABadPartitionNamingTheFlag) {
  const fs::path dir = fresh_dir("client_flags");
  const std::string client = default_network_binaries().client;
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--partition", "dirichlet:-1", "--clients", "4", "--index", "0"},
        std::vector<std::string>{"--partition", "iid", "--clients", "4", "--index", "4"}}) {
    std::vector<std::string> args = {"--coordinator", "http://127.0.0.1:1",
                                     "--identity",    (dir / "k").string(),
                                     "--population",  "p",
                                     "--data",        "fashion-mnist"};
    args.insert(args.end(), bad.begin(), bad.end());
    testing::Process p(client, args, (dir / "client.log").string());
    EXPECT_EQ(p.wait_exit(std::chrono::seconds(30)), 2);
    const std::string log = p.log();
    EXPECT_NE(log.find(bad[0] == "--partition" && bad[1] == "iid" ? "--index" : "--partition"),
              std::string::npos)
        << log;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fl::sim
