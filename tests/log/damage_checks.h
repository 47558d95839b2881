// Checks shared by the damage tests: what verify_log says about a damaged log, that a refused
// Log::open changed no byte, and what recovery put into DIR/quarantine/.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "blob_log.h"
#include "cairn/log/options.h"
#include "cairn/log/verify.h"

namespace cairn::testing {

// verify_log's first damage in `dir` (nullopt: intact). A scan that fails is a test failure.
std::optional<log::Damage> verify_damage(
    const std::filesystem::path& dir,
    uint64_t tail_window_bytes = log::VerifyOptions{}.tail_window_bytes);

// The damage is there and is of this kind, in this file, at this offset and LSN.
::testing::AssertionResult damage_is(const std::optional<log::Damage>& damage, log::DamageKind kind,
                                     const std::string& file, uint64_t offset, log::Lsn lsn);

// Log::open(dir, options) fails with kCorruption and every byte under `dir` is as it was. Returns
// the error message.
std::string expect_open_refused(const std::filesystem::path& dir, const log::LogOptions& options);

// A LogReader of `dir` returns `good` records, then fails with kCorruption naming `file`.
void expect_reader_stops_at(const std::filesystem::path& dir, size_t good, const std::string& file);

// Names of the files in DIR/quarantine/, sorted (empty when there is no such directory).
std::vector<std::string> quarantine_names(const std::filesystem::path& dir);

// The file name recovery gives the bytes it cut from `segment` at byte `cut`.
std::string cut_name(const std::string& segment, uint64_t cut, const char* why);

// Opens the repaired log in `dir` (it must find no damage), appends five records of producer 9
// that must continue at `end`, and checks that the log then verifies intact and holds the first
// `kept` of `records` followed by the new ones.
void expect_log_continues(const std::filesystem::path& dir, log::LogOptions options, log::Lsn end,
                          const std::vector<BlobRecord>& records, size_t kept);

}  // namespace cairn::testing
