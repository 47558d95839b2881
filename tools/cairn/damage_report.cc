// Damage reports (see damage_report.h). The explanations follow what log/src/recovery.cc does for
// each kind and recovery mode; keep them in step with it.
#include "damage_report.h"

#include <algorithm>

#include "format.h"
#include "log_dir_check.h"

namespace cairn::tools {
namespace {

using log::DamageKind;

constexpr size_t kTextWidth = 100;

const char* kind_key(DamageKind kind) {
  switch (kind) {
    case DamageKind::kTornTail:
      return "torn_tail";
    case DamageKind::kCorruption:
      return "corruption";
    case DamageKind::kBrokenSequence:
      return "broken_sequence";
  }
  return "unknown";
}

// Where DamageFacts::records_after were counted.
std::string records_after_where(const log::Damage& d) {
  return d.kind == DamageKind::kBrokenSequence ? "from " + d.file + " on" : "in later segments";
}

// What Log::open does with this log, in one sentence.
std::string log_open_effect(const std::filesystem::path& dir, const log::Damage& d,
                            const DamageFacts& facts) {
  const std::string quarantine = (dir / "quarantine").string() + "/";
  if (d.kind == DamageKind::kTornTail) {
    return "Log::open cuts it by default (RecoveryMode::kTolerateTornTail): it copies the "
           "damaged bytes (" +
           d.file + " from offset " + std::to_string(facts.cut_offset) + ") to " + quarantine +
           ", zeroes them in the segment, and the log continues at LSN " +
           std::to_string(facts.intact_end_lsn) +
           ". RecoveryMode::kAbsoluteConsistency refuses to open it.";
  }
  const std::string restore = facts.header_bytes == 0
                                  ? ""
                                  : ", writes " + d.file + " back to the size its header names (" +
                                        std::to_string(facts.short_file_bytes) + " to " +
                                        std::to_string(facts.header_bytes) + " bytes, with zeros)";
  if (d.size_only) {
    std::string effect =
        "Log::open refuses to open this log and changes nothing. RecoveryMode::kPointInTime "
        "(`cairn log recover`) copies any bytes after the last record of " +
        d.file + " to " + quarantine + restore;
    if (d.damage_after.empty()) return effect + ", and keeps every record of every segment.";
    return effect +
           ", keeping its records and moving no segment for it; then it scans the log "
           "again and repairs the damage after it as usual (" +
           d.damage_after +
           "): records from there on leave the log. `cairn log recover --dry-run` shows that "
           "repair once this one is done.";
  }
  std::string moved = d.kind == DamageKind::kBrokenSequence
                          ? "it moves " + d.file + " and every later segment to " + quarantine
                          : "it copies " + d.file + " from offset " +
                                std::to_string(facts.cut_offset) + " to " + quarantine +
                                " and zeroes it there" + restore +
                                ", and moves every later segment to " + quarantine;
  std::string lost = facts.records_after == 0
                         ? ""
                         : "; the " + std::to_string(facts.records_after) + " intact records " +
                               records_after_where(d) + " are then no longer in the log";
  std::string effect =
      "Log::open refuses to open this log and changes nothing. RecoveryMode::kPointInTime can "
      "open it before the damage, at LSN " +
      std::to_string(facts.intact_end_lsn) + " after " + std::to_string(facts.records_before) +
      " records: " + moved + lost + ".";
  return effect;
}

// The engine's view, when its newest snapshot lies past the damage: it never reads the damaged
// records, so it opens; a repair would only cut what comes after them. Empty otherwise.
std::string engine_view(const std::optional<detail::SnapshotName>& past) {
  if (!past) return "";
  return "But the engine whose log this is opens it as it is: its newest snapshot (" + past->name +
         ") holds the state up to LSN " + std::to_string(past->lsn) +
         ", past the damage, and Engine::start() reads only the log after it (the damaged records "
         "leave with retention). `cairn runs` and `log dump`, which read the log from its "
         "start, stop at the damage. Do not run `cairn log recover` for it: it would cut every "
         "record after the damage, which the engine needs.";
}

// What the kind of damage means, in one or two sentences.
std::string meaning(DamageKind kind) {
  switch (kind) {
    case DamageKind::kTornTail:
      return "A torn tail is the unacknowledged end of a write that was interrupted (a crash or "
             "power loss while a batch was being written): no record in it was ever reported "
             "durable, so cutting it loses nothing that was acknowledged.";
    case DamageKind::kCorruption:
      return "Corruption is damage to records that were written whole and may have been "
             "acknowledged as durable (a flipped bit, overwritten or lost bytes). Restore the log "
             "from a copy if you have one before opening it in point-in-time mode.";
    case DamageKind::kBrokenSequence:
      return "A broken segment sequence means a segment file is missing, misnamed, or does not "
             "start where the previous one ends (a deleted, renamed or foreign file). Put the "
             "missing segment back if you have it before opening in point-in-time mode.";
  }
  return "";
}

}  // namespace

DamageFacts damage_facts(const log::VerifyReport& report) {
  CAIRN_CHECK(report.damage.has_value());
  const log::Damage& d = *report.damage;
  DamageFacts facts;
  facts.intact_end_lsn = d.lsn;
  bool found = false;
  log::Lsn previous_end = report.first_lsn;
  for (const log::SegmentSummary& s : report.segments) {
    if (s.file == d.file) {
      found = true;
      // A broken sequence is between files: the damaged file's records are not part of the
      // intact log. Elsewhere the file's records before the bad frame are.
      if (d.kind == DamageKind::kBrokenSequence) {
        facts.intact_end_lsn = previous_end;
        facts.records_after += s.records;
      } else {
        facts.records_before += s.records;
        facts.cut_offset = std::min(s.data_bytes, d.offset);
        if (s.file_bytes < s.header_bytes) {
          facts.short_file_bytes = s.file_bytes;
          facts.header_bytes = s.header_bytes;
        }
        if (s.header_bytes == 0 && !log::is_segment_file_size(s.file_bytes)) {
          facts.grows_from = s.file_bytes;
        }
      }
      continue;
    }
    // A file cut only after its records (size_only) loses none: the later segments stay, all of
    // them when the rest of the log is intact (else the repair of the damage after it decides,
    // and only the records up to this file's end are sure to stay).
    if (found && d.size_only) {
      if (d.damage_after.empty()) facts.records_before += s.records;
    } else {
      (found ? facts.records_after : facts.records_before) += s.records;
    }
    if (!found) previous_end = s.end_lsn;
  }
  if (d.size_only && d.damage_after.empty()) facts.intact_end_lsn = report.end_lsn;
  return facts;
}

std::string damage_text(const std::filesystem::path& dir, const log::VerifyReport& report,
                        const std::optional<detail::SnapshotName>& past) {
  const log::Damage& d = *report.damage;
  const DamageFacts facts = damage_facts(report);
  std::string s;
  s += "log " + dir.string() + " is DAMAGED: " + std::string(log::damage_kind_name(d.kind)) + "\n";
  s += "  file      " + d.file + "\n";
  s += "  offset    " + std::to_string(d.offset) + "\n";
  s += "  LSN       " + std::to_string(d.lsn) + "\n";
  s += "  problem   " + d.what + "\n";
  if (d.bytes_after > 0) {
    s += "  extent    " + bytes_with_human(d.bytes_after) + " from there to the end of the data\n";
  }
  const char* intact =
      !d.size_only ? " records before it, LSN "
      : d.damage_after.empty()
          ? " records, all of them (none is missing), LSN "
          : " records up to the end of this file (none of its records is missing), LSN ";
  s += "  intact    " + std::to_string(facts.records_before) + intact +
       std::to_string(report.first_lsn) + " .. " + std::to_string(facts.intact_end_lsn) + "\n";
  if (facts.records_after > 0) {
    s += "  after it  " + std::to_string(facts.records_after) + " intact records " +
         records_after_where(d) + ", up to LSN " + std::to_string(report.end_lsn) + "\n";
  }
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "\n" + ...
  s += '\n';
  s += wrap_text(meaning(d.kind), kTextWidth);
  s += '\n';
  s += wrap_text(log_open_effect(dir, d, facts), kTextWidth);
  if (const std::string view = engine_view(past); !view.empty()) {
    s += '\n';
    s += wrap_text(view, kTextWidth);
  }
  return s;
}

nlohmann::json damage_json(const std::filesystem::path& dir, const log::VerifyReport& report,
                           const std::optional<detail::SnapshotName>& past) {
  const log::Damage& d = *report.damage;
  const DamageFacts facts = damage_facts(report);
  return nlohmann::json{
      {"kind", kind_key(d.kind)},
      {"kind_name", std::string(log::damage_kind_name(d.kind))},
      {"file", d.file},
      {"offset", d.offset},
      {"lsn", d.lsn},
      {"what", d.what},
      {"bytes_after", d.bytes_after},
      {"size_only", d.size_only},
      {"damage_after",
       d.damage_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.damage_after)},
      {"short_file_bytes",
       facts.header_bytes == 0 ? nlohmann::json(nullptr) : nlohmann::json(facts.short_file_bytes)},
      {"header_bytes",
       facts.header_bytes == 0 ? nlohmann::json(nullptr) : nlohmann::json(facts.header_bytes)},
      {"intact_end_lsn", facts.intact_end_lsn},
      {"records_before", facts.records_before},
      {"records_after", facts.records_after},
      {"meaning", meaning(d.kind)},
      {"log_open", log_open_effect(dir, d, facts)},
      {"engine_opens", past.has_value()},
      {"engine_snapshot", past ? nlohmann::json(past->name) : nlohmann::json(nullptr)},
      {"engine", past ? nlohmann::json(engine_view(past)) : nlohmann::json(nullptr)},
  };
}

}  // namespace cairn::tools
