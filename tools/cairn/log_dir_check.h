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
#include "cairn/log/verify.h"
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
// even when its contents are damaged; and the engine's own open checks the log only from there,
// so it never cuts damage before it as a torn tail: that damage is corruption. 0 for a plain log
// or an engine without snapshots.
Result<log::Lsn> known_durable_lsn(const std::filesystem::path& log_dir);
// The same from the snapshots engine_snapshots() listed (newest first): the newest that begins as
// a snapshot does (detail::newest_snapshot_by_name, as the engine's start judges it).
log::Lsn known_durable_lsn(const std::filesystem::path& log_dir,
                           const std::vector<detail::SnapshotName>& newest_first);

// The snapshot the engine's next start() begins from, when it lies past `damage` (it holds the
// records before its LSN): that start reads only the log after it (Log::open checks from its LSN
// on), so the engine opens the log whatever is damaged before. nullopt for a plain log, when the
// newest snapshot does not reach past the damage, when it does not load (the engine then falls
// back to an older one or a full replay, and meets the damage), and for a broken segment
// sequence, which the engine refuses wherever it lies. The name is the file's path. It loads
// the whole snapshot: call it once.
std::optional<detail::SnapshotName> snapshot_past(const std::filesystem::path& log_dir,
                                                  const log::Damage& damage);

// The first damage in the log at `log_dir`, judged with its snapshots' LSN as known durable
// (damage before it is corruption, never a torn tail): nullopt when the log is intact or cannot
// be verified. An error only when the snapshots cannot be listed.
Result<std::optional<log::Damage>> first_damage_as_engine_judges(
    const std::filesystem::path& log_dir);

// What the engine's next start() makes of the damage in the log at `log_dir`: the LSN of the torn
// tail it cuts (first_damage_as_engine_judges is one), or nullopt when there is none (intact,
// unverifiable, or other damage). An error only when the snapshots cannot be listed.
Result<std::optional<log::Lsn>> torn_tail_the_engine_cuts(const std::filesystem::path& log_dir);

}  // namespace cairn::tools
