// The privacy ledger (issue 11): one row per completed round of a population
// trained with differential privacy, written in the same store transaction
// as the round's new version, so a version exists exactly when its privacy
// cost is recorded, also across a crash.
//
// A row keeps what the accountant needs to recompute the spend from scratch
// (mechanism, sampling rate q, noise multiplier z, clip norm C, the expected
// cohort and the inputs that actually made the sum) and the cumulative
// epsilon at `delta` after the round, as the coordinator computed it. A
// restarted coordinator recomputes the composition from the rows, so the
// budget holds across restarts (dp.max_epsilon).
//
// Not for: per-client data; nothing here identifies a client.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fl::coordinator {

struct PrivacySpend {
  std::string mechanism;          // "central" or "distributed"
  double sampling_rate = 0;       // q: expected cohort / population
  double noise_multiplier = 0;    // z of the round as accounted (survivors included)
  double clip = 0;                // C: the L2 bound on a client's update
  uint64_t expected_clients = 0;  // the cohort the noise was calibrated for
  uint64_t survivors = 0;         // inputs in the sum
  uint32_t bits = 0;              // ring bits per coordinate (distributed), else 0
  uint64_t modular_clips = 0;     // coordinates that wrapped in the ring (distributed)
  double epsilon = 0;             // cumulative epsilon after this round, at `delta`
  double delta = 0;
  double order = 0;  // the Renyi order that gave `epsilon`
};

struct PrivacyLedgerEntry {
  int64_t round_id = 0;
  std::string population;
  int64_t version_id = 0;  // the version the round produced
  int64_t at_ms = 0;
  PrivacySpend spend;
};

// A bounded view of a ledger for readers that must stay cheap however long
// training ran (the admin API, /metrics, fl-sim's per-round record): the most
// recent rows, oldest first, and how many rows the ledger has in all.
struct PrivacyLedgerTail {
  std::vector<PrivacyLedgerEntry> rows;
  uint64_t rounds = 0;  // rows in the whole ledger (rounds accounted)
};

}  // namespace fl::coordinator
