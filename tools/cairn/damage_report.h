// How the tool reports damage found by verify_log: where it is (file, offset, LSN), what the kind
// means, and what Log::open will do about it. `log verify` and `log stats` print the same words.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cairn/log/verify.h"
#include "snapshot_file.h"

namespace cairn::tools {

// What follows from the damage for this particular log.
struct DamageFacts {
  // The log is intact below this LSN: where a torn tail is cut, or where
  // RecoveryMode::kPointInTime would open the log.
  log::Lsn intact_end_lsn = 0;
  uint64_t records_before = 0;  // intact records before the damage
  // Where recovery cuts the damaged segment (not for a broken sequence): after its last intact
  // frame, which may lie before the bad frame's offset (batches start on 4 KiB blocks, with zeros
  // between them); 0 when its header is damaged.
  uint64_t cut_offset = 0;
  // Intact records in the segments after the damaged one (for a broken sequence: from the file
  // at the break on). The scan does not read past a bad frame in its own segment, so records
  // there are not counted. A point-in-time open leaves them all out of the log.
  uint64_t records_after = 0;
  // The damaged segment's file is shorter than its header says (something cut it): a repair
  // writes it back to header_bytes with zeros after the cut. 0 when it is not.
  uint64_t short_file_bytes = 0;
  uint64_t header_bytes = 0;
  // The damaged segment's header is bad and its size is not one a log makes (it was extended, or
  // is shorter than a header): after zeroing it, a repair grows it to such a size. Its size now.
  std::optional<uint64_t> grows_from;
};

// Precondition: report.damage is set.
DamageFacts damage_facts(const log::VerifyReport& report);

// Several lines: the damage's kind, file, offset and LSN, then what it means and what to do.
// `past`: snapshot_past(dir, *report.damage), read once by the caller (it loads the snapshot).
std::string damage_text(const std::filesystem::path& dir, const log::VerifyReport& report,
                        const std::optional<detail::SnapshotName>& past);

// When the log is an engine's and that engine's newest snapshot lies past the damage and loads
// (`past`), the text adds that the engine opens the log as it is, and that a
// repair would cut what the engine needs.
//
// The same as an object: {"kind":"torn_tail","kind_name":"torn tail","file":..,"offset":..,
// "lsn":..,"what":..,"bytes_after":..,"intact_end_lsn":..,"records_before":..,
// "records_after":..,"log_open":..,"meaning":..,"engine_opens":bool,"engine_snapshot":path or
// null,"engine":text or null}.
nlohmann::json damage_json(const std::filesystem::path& dir, const log::VerifyReport& report,
                           const std::optional<detail::SnapshotName>& past);

}  // namespace cairn::tools
