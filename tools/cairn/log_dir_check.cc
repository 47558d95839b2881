// check_log_dir and the engine's snapshots beside a log (see log_dir_check.h).
#include "log_dir_check.h"

#include <system_error>

#include "cairn/log/io.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"

namespace cairn::tools {
namespace {

namespace fs = std::filesystem;

std::string file_type_text(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory:
      return "a directory";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::not_found:
      return "a broken symbolic link";
    default:
      return "not a regular file";
  }
}

bool has_wal_files(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".wal") return true;
  }
  return false;
}

}  // namespace

Status check_log_dir(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status(StatusCode::kIoError, "cannot read " + dir.string() + ": " + ec.message());
  }
  if (!fs::exists(st)) {
    return Status(StatusCode::kNotFound, "no such directory: " + dir.string());
  }
  if (!fs::is_directory(st)) {
    return Status(StatusCode::kInvalidArgument,
                  dir.string() +
                      " is not a directory (DIR is a log directory, the one passed "
                      "to Log::open, not a segment file)");
  }
  bool segments = false;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".wal") continue;
    // Every one is opened and read: a FIFO would block the command for good, a directory fails
    // deep in a read without a name.
    std::error_code type_ec;
    const fs::file_status file = it->status(type_ec);
    if (!fs::is_regular_file(file)) {
      return Status(StatusCode::kInvalidArgument,
                    it->path().string() + " is named like a log segment but is " +
                        file_type_text(file.type()) +
                        ": a log directory holds segment files only; move it out of " +
                        dir.string());
    }
    segments = true;
  }
  if (ec) return Status(StatusCode::kIoError, "cannot list " + dir.string() + ": " + ec.message());
  if (segments) return Status();
  if (fs::is_directory(dir / "log", ec)) {
    return Status(StatusCode::kNotFound,
                  dir.string() +
                      " is an engine's directory (EngineOptions::dir); the log commands take "
                      "its log directory: try " +
                      (dir / "log").string() +
                      (has_wal_files(dir / "log") ? "" : " (it holds no *.wal segments yet)"));
  }
  return Status(StatusCode::kNotFound, "no log segments (*.wal files) in " + dir.string() +
                                           ": is it a Cairn log directory?");
}

std::optional<fs::path> engine_snapshot_dir(const fs::path& log_dir) {
  std::error_code ec;
  fs::path log = fs::absolute(log_dir, ec).lexically_normal();
  if (ec) return std::nullopt;
  // "data/log/" and "data/log/." normalize to "data/log/": its parent is "data/log".
  if (log.filename().empty()) log = log.parent_path();
  const fs::path snapshots = log.parent_path() / "snapshots";
  if (!fs::is_directory(snapshots, ec)) return std::nullopt;
  return snapshots;
}

Result<std::vector<detail::SnapshotName>> engine_snapshots(const fs::path& log_dir) {
  const std::optional<fs::path> dir = engine_snapshot_dir(log_dir);
  if (!dir) return std::vector<detail::SnapshotName>{};
  Result<std::vector<detail::SnapshotName>> names =
      detail::list_snapshots(*log::posix_file_system(), dir->string(), /*remove_leftovers=*/false);
  if (!names.ok()) return names.status().with_context("listing the engine's snapshots");
  return names;
}

Result<log::Lsn> known_durable_lsn(const fs::path& log_dir) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<detail::SnapshotName> names, engine_snapshots(log_dir));
  return known_durable_lsn(log_dir, names);
}

log::Lsn known_durable_lsn(const fs::path& log_dir,
                           const std::vector<detail::SnapshotName>& newest_first) {
  const std::optional<fs::path> dir = engine_snapshot_dir(log_dir);
  if (!dir) return 0;
  const std::optional<detail::SnapshotName> newest =
      detail::newest_snapshot_by_name(*log::posix_file_system(), dir->string(), newest_first);
  return newest ? newest->lsn : log::Lsn{0};
}

std::optional<detail::SnapshotName> snapshot_past(const fs::path& log_dir,
                                                  const log::Damage& damage) {
  if (damage.kind == log::DamageKind::kBrokenSequence) return std::nullopt;
  const std::optional<fs::path> dir = engine_snapshot_dir(log_dir);
  if (!dir) return std::nullopt;
  Result<std::vector<detail::SnapshotName>> names = engine_snapshots(log_dir);
  if (!names.ok()) return std::nullopt;
  const std::shared_ptr<log::FileSystem> fs = log::posix_file_system();
  std::optional<detail::SnapshotName> newest =
      detail::newest_snapshot_by_name(*fs, dir->string(), *names);
  if (!newest || newest->lsn <= damage.lsn) return std::nullopt;
  newest->name = (*dir / newest->name).string();
  bool newer = false;
  // Checked as the engine's start checks it (a damaged one is set aside there).
  if (!detail::read_snapshot_file(*fs, newest->name, ~uint64_t{0}, &newer).ok()) {
    return std::nullopt;
  }
  return newest;
}

Result<std::optional<log::Damage>> first_damage_as_engine_judges(const fs::path& log_dir) {
  log::VerifyOptions options;
  options.payload_verifier = &schema::verify_payload;
  CAIRN_ASSIGN_OR_RETURN(options.known_durable_lsn, known_durable_lsn(log_dir));
  Result<log::VerifyReport> report = log::verify_log(log_dir, options);
  if (!report.ok() || !report->damage) return std::optional<log::Damage>();
  return report->damage;
}

Result<std::optional<log::Lsn>> torn_tail_the_engine_cuts(const fs::path& log_dir) {
  CAIRN_ASSIGN_OR_RETURN(const std::optional<log::Damage> damage,
                         first_damage_as_engine_judges(log_dir));
  if (damage && damage->kind == log::DamageKind::kTornTail) {
    return std::optional<log::Lsn>(damage->lsn);
  }
  return std::optional<log::Lsn>();
}

}  // namespace cairn::tools
