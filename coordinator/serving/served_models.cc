#include "coordinator/serving/served_models.h"

#include <algorithm>

#include "coordinator/http/response.h"

namespace fl::serving {
namespace {

Status unknown_model(std::string_view name) {
  // The name comes from the request path: quoted cut and UTF-8-repaired.
  return NotFound("model '" + http::excerpt(name) + "' is not served here");
}

}  // namespace

ServedModels::ServedModels(std::vector<std::string> configured,
                           std::shared_ptr<VersionSource> source, ServedModelsOptions options)
    : source_(std::move(source)), options_(options) {
  for (std::string& name : configured) published_.emplace(std::move(name), nullptr);
}

Status ServedModels::publish(std::string_view name, int64_t version, model::Model model,
                             std::map<std::string, std::string> metadata) {
  Result<std::shared_ptr<const ServedVersion>> served =
      make_served_version(std::string(name), version, std::move(model), std::move(metadata));
  if (!served.ok()) return served.status();
  std::shared_ptr<const ServedVersion> previous;
  {
    std::unique_lock lock(published_mu_);
    auto it = published_.find(name);
    if (it == published_.end()) it = published_.emplace(std::string(name), nullptr).first;
    previous = std::exchange(it->second, std::move(served).value());
  }
  // Publishing or rolling back changes stages: forget what was loaded by pin.
  {
    std::lock_guard lock(pinned_mu_);
    for (auto it = pinned_lru_.begin(); it != pinned_lru_.end();) {
      if (it->first.model == name) {
        pinned_index_.erase(it->first);
        it = pinned_lru_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // `previous` is released here, outside both locks; requests still holding it
  // keep it alive until they finish.
  return Status::Ok();
}

std::shared_ptr<const ServedVersion> ServedModels::published(std::string_view name) const {
  std::shared_lock lock(published_mu_);
  auto it = published_.find(name);
  return it == published_.end() ? nullptr : it->second;
}

bool ServedModels::knows(std::string_view name) const {
  std::shared_lock lock(published_mu_);
  return published_.find(name) != published_.end();
}

bool ServedModels::ready(std::string_view name) const { return published(name) != nullptr; }

bool ServedModels::ready() const {
  std::shared_lock lock(published_mu_);
  return std::all_of(published_.begin(), published_.end(),
                     [](const auto& entry) { return entry.second != nullptr; });
}

std::vector<std::string> ServedModels::model_names() const {
  std::shared_lock lock(published_mu_);
  std::vector<std::string> names;
  for (const auto& entry : published_) names.push_back(entry.first);
  return names;
}

Result<std::shared_ptr<const ServedVersion>> ServedModels::resolve(std::string_view name,
                                                                   std::optional<int64_t> version) {
  std::shared_ptr<const ServedVersion> current;
  {
    std::shared_lock lock(published_mu_);
    auto it = published_.find(name);
    if (it == published_.end()) return unknown_model(name);
    current = it->second;
  }
  if (current && (!version || current->version == *version)) return current;
  if (!version) return NotFound("model '" + std::string(name) + "' has no published version yet");
  if (*version <= 0) {
    return NotFound("model '" + std::string(name) + "' has no version " + std::to_string(*version));
  }
  const PinnedKey key{std::string(name), *version};
  if (std::shared_ptr<const ServedVersion> hit = cached(key)) return hit;
  return load_pinned(name, *version);
}

Result<std::shared_ptr<const ServedVersion>> ServedModels::load_pinned(std::string_view name,
                                                                       int64_t version) {
  const std::string what =
      "version " + std::to_string(version) + " of model '" + std::string(name) + "'";
  if (!source_) return NotFound(what + " is not published, and no other version can be loaded");
  Result<std::vector<VersionInfo>> versions = source_->versions(name);
  if (!versions.ok()) return versions.status();
  auto info = std::find_if(versions->begin(), versions->end(),
                           [&](const VersionInfo& v) { return v.id == version; });
  if (info == versions->end()) return NotFound(what + " does not exist");
  if (info->stage == kStageRetired) return NotFound(what + " is retired");
  Result<model::Model> model = source_->load(name, version);
  if (!model.ok()) return model.status();
  Result<std::shared_ptr<const ServedVersion>> served =
      make_served_version(std::string(name), version, std::move(model).value());
  if (!served.ok()) return Internal(served.status().message());
  cache(PinnedKey{std::string(name), version}, *served);
  return served;
}

std::shared_ptr<const ServedVersion> ServedModels::cached(const PinnedKey& key) {
  std::lock_guard lock(pinned_mu_);
  auto it = pinned_index_.find(key);
  if (it == pinned_index_.end()) return nullptr;
  pinned_lru_.splice(pinned_lru_.begin(), pinned_lru_, it->second);
  return it->second->second;
}

void ServedModels::cache(const PinnedKey& key, std::shared_ptr<const ServedVersion> version) {
  if (options_.pinned_cache_size == 0) return;
  std::shared_ptr<const ServedVersion> evicted;  // released after the lock
  std::lock_guard lock(pinned_mu_);
  if (auto it = pinned_index_.find(key); it != pinned_index_.end()) {
    it->second->second = std::move(version);
    pinned_lru_.splice(pinned_lru_.begin(), pinned_lru_, it->second);
    return;
  }
  pinned_lru_.emplace_front(key, std::move(version));
  pinned_index_[key] = pinned_lru_.begin();
  if (pinned_lru_.size() > options_.pinned_cache_size) {
    evicted = std::move(pinned_lru_.back().second);
    pinned_index_.erase(pinned_lru_.back().first);
    pinned_lru_.pop_back();
  }
}

Result<std::vector<int64_t>> ServedModels::servable_versions(std::string_view name) {
  const std::shared_ptr<const ServedVersion> current = published(name);
  if (!knows(name)) return unknown_model(name);
  std::vector<int64_t> ids;
  if (source_) {
    Result<std::vector<VersionInfo>> versions = source_->versions(name);
    if (!versions.ok() && versions.status().code() != ErrorCode::kNotFound)
      return versions.status();
    if (versions.ok()) {
      for (const VersionInfo& v : *versions) {
        if (v.stage != kStageRetired) ids.push_back(v.id);
      }
    }
  }
  if (current && std::find(ids.begin(), ids.end(), current->version) == ids.end())
    ids.push_back(current->version);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace fl::serving
