// The check every `cairn log` command makes before it reads: that DIR is a readable directory
// holding at least one segment file, and only segment files by that name. Its failures are usage
// errors (exit 2), not damage. Also what the commands that judge damage need to know about the
// engine a log belongs to: its snapshots.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "cairn/log/status.h"
#include "cairn/log/types.h"
#include "snapshot_file.h"

namespace cairn::tools {

// OK when `dir` is a directory with at least one *.wal file, each of them a regular file (reading
// a FIFO would block for good); else a message that says what is wrong and what DIR should be (an
// engine's directory passed by mistake is named as such, with its log to try instead).
Status check_log_dir(const std::filesystem::path& dir);

// The snapshots directory of the engine whose log is `log_dir`: LOGDIR/../snapshots, as the
// engine keeps DIR/log beside DIR/snapshots. nullopt when there is none (a plain log).
std::optional<std::filesystem::path> engine_snapshot_dir(const std::filesystem::path& log_dir);

// That engine's snapshots, newest first, as the engine itself lists them
// (snapshot-<20 digits>.snap that fit in 64 bits; no .tmp file, nothing in quarantine/). Empty for
// a plain log.
Result<std::vector<detail::SnapshotName>> engine_snapshots(const std::filesystem::path& log_dir);

// VerifyOptions::known_durable_lsn for the log in `log_dir`: the newest snapshot's LSN. The engine
// writes a snapshot only after the records it covers were durable, so the file's name proves it
// even when its contents are damaged; and the engine's own open treats damage before it as
// corruption, never a torn tail it may cut. 0 for a plain log or an engine without snapshots.
Result<log::Lsn> known_durable_lsn(const std::filesystem::path& log_dir);
// The same from the snapshots engine_snapshots() listed (newest first): the newest that begins as
// a snapshot does (detail::newest_snapshot_by_name, as the engine's start judges it).
log::Lsn known_durable_lsn(const std::filesystem::path& log_dir,
                           const std::vector<detail::SnapshotName>& newest_first);

// The snapshot the engine's next start() begins from, when it lies past `damage_lsn` (it holds
// the records before its LSN): that start reads only the log after it (Log::open checks from its
// LSN on), so the engine opens the log whatever is damaged before. nullopt for a plain log, when
// the newest snapshot does not reach past the damage, or when it does not load (the engine then
// falls back to an older one or a full replay, and meets the damage). The path is the file's.
std::optional<detail::SnapshotName> snapshot_past_damage(const std::filesystem::path& log_dir,
                                                         log::Lsn damage_lsn);

// The same for the first damage in the log at `log_dir` (verified as the engine's open judges
// it); nullopt when the log is intact or cannot be verified.
std::optional<detail::SnapshotName> snapshot_past_the_damage(const std::filesystem::path& log_dir);

// What the engine's next start() makes of the damage in the log at `log_dir`, judged as its own
// open judges it (with its snapshots' LSN as known durable): the LSN of the torn tail it cuts, or
// nullopt when it would refuse the log (or the log cannot be verified). An error only when the
// snapshots cannot be listed.
Result<std::optional<log::Lsn>> torn_tail_the_engine_cuts(const std::filesystem::path& log_dir);

}  // namespace cairn::tools
