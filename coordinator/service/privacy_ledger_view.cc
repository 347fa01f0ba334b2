#include "coordinator/service/privacy_ledger_view.h"

#include <cstdio>

namespace fl::coordinator {

nlohmann::ordered_json privacy_row_json(const PrivacyLedgerEntry& row) {
  const PrivacySpend& s = row.spend;
  return {{"round", row.round_id},
          {"version", row.version_id},
          {"at_ms", row.at_ms},
          {"mechanism", s.mechanism},
          {"sampling_rate", s.sampling_rate},
          {"noise_multiplier", s.noise_multiplier},
          {"clip", s.clip},
          {"expected_clients", s.expected_clients},
          {"survivors", s.survivors},
          {"bits", s.bits},
          {"modular_clips", s.modular_clips},
          {"epsilon", s.epsilon},
          {"delta", s.delta},
          {"order", s.order}};
}

nlohmann::ordered_json privacy_ledger_json(std::string_view population,
                                           const PrivacyLedgerTail& tail, size_t max_rows) {
  nlohmann::ordered_json j;
  j["population"] = population;
  const PrivacyLedgerEntry* newest = tail.rows.empty() ? nullptr : &tail.rows.back();
  j["mechanism"] = newest ? nlohmann::ordered_json(newest->spend.mechanism) : nullptr;
  j["epsilon"] = newest ? nlohmann::ordered_json(newest->spend.epsilon) : nullptr;
  j["delta"] = newest ? nlohmann::ordered_json(newest->spend.delta) : nullptr;
  j["rounds"] = tail.rounds;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  const size_t first = tail.rows.size() > max_rows ? tail.rows.size() - max_rows : 0;
  for (size_t i = first; i < tail.rows.size(); ++i) rows.push_back(privacy_row_json(tail.rows[i]));
  j["ledger"] = std::move(rows);
  return j;
}

std::string privacy_ledger_table(const std::vector<PrivacyLedgerEntry>& rows,
                                 std::string_view indent) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-7s %-7s %-11s %-9s %-7s %-7s %-8s %-9s %-4s %-6s %s\n",
                "round", "version", "mechanism", "q", "z", "C", "expected", "survivors", "bits",
                "clips", "epsilon");
  out.append(indent).append(line);
  for (const PrivacyLedgerEntry& r : rows) {
    const PrivacySpend& s = r.spend;
    std::snprintf(line, sizeof line,
                  "%-7lld %-7lld %-11s %-9.4g %-7.4g %-7.4g %-8llu %-9llu %-4u %-6llu %.4g\n",
                  static_cast<long long>(r.round_id), static_cast<long long>(r.version_id),
                  s.mechanism.c_str(), s.sampling_rate, s.noise_multiplier, s.clip,
                  static_cast<unsigned long long>(s.expected_clients),
                  static_cast<unsigned long long>(s.survivors), s.bits,
                  static_cast<unsigned long long>(s.modular_clips), s.epsilon);
    out.append(indent).append(line);
  }
  return out;
}

std::string privacy_total_line(const PrivacyLedgerEntry& newest, uint64_t rounds) {
  char line[160];
  std::snprintf(line, sizeof line, "epsilon %.3g at delta %g after %llu round%s (%s)",
                newest.spend.epsilon, newest.spend.delta, static_cast<unsigned long long>(rounds),
                rounds == 1 ? "" : "s", newest.spend.mechanism.c_str());
  return line;
}

}  // namespace fl::coordinator
