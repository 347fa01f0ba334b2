// Helpers shared by the registry tests: a registry over an in-memory store
// that records every notification, and versions with chosen metrics.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/registry/registry.h"
#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator::testing {

struct PublishedEvent {
  std::string model;
  int64_t version_id = 0;
  std::string reason;
};

struct AlertEvent {
  std::string model;
  std::string kind;
  std::string message;
};

// What the embedding service would hear. Thread-safe.
class NotificationLog {
 public:
  RegistryCallbacks callbacks() {
    return {
        .on_published =
            [this](std::string_view model, int64_t id, std::string_view reason) {
              std::lock_guard lock(mu_);
              published_.push_back({std::string(model), id, std::string(reason)});
            },
        .on_alert =
            [this](std::string_view model, std::string_view kind, std::string_view message) {
              std::lock_guard lock(mu_);
              alerts_.push_back({std::string(model), std::string(kind), std::string(message)});
            },
    };
  }
  std::vector<PublishedEvent> published() {
    std::lock_guard lock(mu_);
    return published_;
  }
  std::vector<AlertEvent> alerts() {
    std::lock_guard lock(mu_);
    return alerts_;
  }

 private:
  std::mutex mu_;
  std::vector<PublishedEvent> published_;
  std::vector<AlertEvent> alerts_;
};

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A store, a registry over it and the notifications it sent.
class RegistryHarness {
 public:
  explicit RegistryHarness(RegistryOptions options = {}) {
    store = open_store(":memory:");
    options.callbacks = log.callbacks();
    auto created = Registry::create(*store, std::move(options));
    EXPECT_TRUE(created.ok()) << created.status().to_string();
    if (created.ok()) registry = std::move(created).value();
  }

  // A new candidate of `model` with exactly `metrics`.
  int64_t add(const std::string& model, VersionMetrics metrics = {}) {
    NewVersion v = sample_version(model, ++seed_);
    v.metrics = std::move(metrics);
    auto id = store->add_version(v);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return id.ok() ? *id : -1;
  }
  // A new candidate that goes through the gate; returns its id.
  int64_t add_and_consider(const std::string& model, VersionMetrics metrics, int64_t now_ms) {
    const int64_t id = add(model, std::move(metrics));
    auto decision = registry->consider(id, now_ms);
    EXPECT_TRUE(decision.ok()) << decision.status().to_string();
    return id;
  }
  int64_t published(const std::string& model) {
    auto v = store->latest_version(model, VersionStage::kPublished);
    return v.ok() ? v->id : -1;
  }
  VersionStage stage(int64_t id) { return store->get_version(id)->stage; }

  std::unique_ptr<SqliteStore> store;
  NotificationLog log;
  std::unique_ptr<Registry> registry;

 private:
  uint64_t seed_ = 0;
};

}  // namespace fl::coordinator::testing
