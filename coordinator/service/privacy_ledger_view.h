// How an operator sees a population's privacy ledger (issue 11): the same
// figures, formatted once, for `fl-coordinator models show`, the admin API
// (GET /v1/admin/populations/{population}/privacy) and the logs.
//
// Epsilon is the ledger's own cumulative figure (the accountant's, at the
// ledger's delta, written in the round's commit); nothing here recomputes it.
//
// Not for: accounting (aggregation/dp/rdp_accountant.h) or reading the store.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/store/privacy_ledger.h"

namespace fl::coordinator {

// One row: round, version, at_ms, mechanism, sampling_rate, noise_multiplier,
// clip, expected_clients, survivors, bits, modular_clips, epsilon, delta, order.
nlohmann::ordered_json privacy_row_json(const PrivacyLedgerEntry& row);

// {population, mechanism, epsilon, delta, rounds, ledger: [rows]}: epsilon,
// delta and mechanism are the newest row's (null for an empty ledger: a
// population trained without DP has no bound to report, not a bound of 0);
// rounds counts the whole ledger even when `tail` holds only its newest rows;
// the ledger lists the newest `max_rows` of `tail` (0: totals only).
nlohmann::ordered_json privacy_ledger_json(std::string_view population,
                                           const PrivacyLedgerTail& tail, size_t max_rows);

// A fixed-width table, a header line then one line per row, each line
// starting with `indent`.
std::string privacy_ledger_table(const std::vector<PrivacyLedgerEntry>& rows,
                                 std::string_view indent);

// "epsilon 3.21 at delta 1e-05 after 40 rounds (central)", `newest` being
// the last of `rounds` rows.
std::string privacy_total_line(const PrivacyLedgerEntry& newest, uint64_t rounds);

}  // namespace fl::coordinator
