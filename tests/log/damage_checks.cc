// Checks shared by the damage tests (see damage_checks.h).
#include "damage_checks.h"
#include "cairn/schema/record_schema.h"

#include "cairn/log/log.h"
#include "frame_format.h"
#include "log_dir_files.h"
#include "support/blob_records.h"

namespace cairn::testing {

std::optional<log::Damage> verify_damage(const std::filesystem::path& dir,
                                         uint64_t tail_window_bytes) {
  log::VerifyOptions options;
  options.tail_window_bytes = tail_window_bytes;
  options.payload_verifier = &schema::verify_payload;
  auto report = log::verify_log(dir, options);
  if (!report.ok()) {
    ADD_FAILURE() << "verify_log: " << report.status().to_string();
    return std::nullopt;
  }
  return report->damage;
}

::testing::AssertionResult damage_is(const std::optional<log::Damage>& damage, log::DamageKind kind,
                                     const std::string& file, uint64_t offset, log::Lsn lsn) {
  if (!damage) {
    return ::testing::AssertionFailure()
           << "no damage where " << log::damage_kind_name(kind) << " in " << file << " at offset "
           << offset << " (LSN " << lsn << ") was expected";
  }
  if (damage->kind != kind || damage->file != file || damage->offset != offset ||
      damage->lsn != lsn) {
    return ::testing::AssertionFailure()
           << "found " << damage->to_string() << "; expected " << log::damage_kind_name(kind)
           << " in " << file << " at offset " << offset << " (LSN " << lsn << ")";
  }
  return ::testing::AssertionSuccess();
}

std::string expect_open_refused(const std::filesystem::path& dir, const log::LogOptions& options) {
  const DirSnapshot before = snapshot(dir);
  auto log = log::Log::open(dir, options, schema_hooks());
  EXPECT_FALSE(log.ok()) << "the damaged log was opened";
  if (log.ok()) return "";
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().to_string();
  const DirSnapshot after = snapshot(dir);
  EXPECT_EQ(before.size(), after.size()) << "files appeared or disappeared";
  for (const auto& [name, bytes] : before) {
    auto it = after.find(name);
    if (it == after.end()) {
      ADD_FAILURE() << name << " is gone after the refused open";
    } else if (it->second != bytes) {
      ADD_FAILURE() << name << " changed in the refused open";
    }
  }
  for (const auto& [name, bytes] : after) {
    if (!before.contains(name)) ADD_FAILURE() << name << " appeared in the refused open";
  }
  return log.status().message();
}

std::vector<std::string> quarantine_names(const std::filesystem::path& dir) {
  const auto q = dir / std::string(log::format::kQuarantineDir);
  if (!std::filesystem::exists(q)) return {};
  return file_names(q);
}

std::string cut_name(const std::string& segment, uint64_t cut, const char* why) {
  return segment + ".at-" + std::to_string(cut) + "." + why;
}

void expect_reader_stops_at(const std::filesystem::path& dir, size_t good,
                            const std::string& file) {
  auto reader = log::LogReader::open(dir, {});
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  for (size_t i = 0; i < good; ++i) {
    auto r = (*reader)->next();
    ASSERT_TRUE(r.ok() && *r != nullptr) << "record " << i;
  }
  auto r = (*reader)->next();
  ASSERT_FALSE(r.ok()) << "a record past the damage";
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().to_string();
}

void expect_log_continues(const std::filesystem::path& dir, log::LogOptions options, log::Lsn end,
                          const std::vector<BlobRecord>& records, size_t kept) {
  {
    auto log = log::Log::open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_TRUE((*log)->recovery_report().damage.empty()) << "the second open finds it intact";
    const auto lsns = append_blobs(**log, BlobLogSpec{.records = 5, .producer = 9});
    ASSERT_EQ(lsns.size(), 5u);
    EXPECT_EQ(lsns.front(), end);
  }
  EXPECT_FALSE(verify_damage(dir).has_value());
  const auto reread = read_blob_log(dir);
  ASSERT_EQ(reread.size(), kept + 5);
  EXPECT_TRUE(
      is_prefix({reread.begin(), reread.begin() + static_cast<ptrdiff_t>(kept)}, records, kept));
  EXPECT_EQ(reread.back().producer, 9u);
}

}  // namespace cairn::testing
