// `cairn log recover LOGDIR [--dry-run] [--json]`: the explicit repair that recovery never does by
// itself. Log::open cuts only a torn tail and refuses any other damage (see log/src/recovery.cc);
// this command opens the log with RecoveryMode::kPointInTime, which keeps the log up to its first
// damage and moves everything after it aside into LOGDIR/quarantine/ — the damaged segment's
// bytes from the bad frame on are copied there (then zeroed in place), later segments are renamed
// there — and then verifies the result. Nothing is deleted.
//
// --dry-run verifies only (no lock, no write) and says what the repair would do: which file, from
// which offset and LSN, how many bytes and records would leave the log, and where they would go.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/log/log.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "damage_report.h"
#include "format.h"
#include "log_commands.h"
#include "log_dir_check.h"
#include "scan_progress.h"

namespace cairn::tools {
// A named namespace: the unity build joins this file's anonymous namespace with its neighbours'.
namespace log_recover_impl {

namespace fs = std::filesystem;

constexpr const char* kCommand = "log recover";

struct LogRecoverArgs {
  std::string dir;
  bool dry_run = false;
  bool json = false;
  bool force = false;  // repair even when the engine opens the log as it is
};

// What kPointInTime does with the first damage verify_log found (recovery.cc, recover_segments).
struct RepairPlan {
  bool cut = false;         // the damaged segment is cut (copied from cut_offset on, then zeroed)
  std::string cut_file;     // its name
  uint64_t cut_offset = 0;  // after its last intact frame: where recovery cuts
  uint64_t cut_bytes = 0;   // about: from there to the end of the data after the bad frame
  std::string cut_copy;     // where the copy goes
  // Log::open names the copy by its own verdict, and it does not know the engine's snapshots: it
  // calls damage before the newest snapshot a torn tail when that is what it looks like.
  bool named_torn = false;
  bool torn_to_log_only = false;  // named_torn, but the snapshots make it corruption
  struct Moved {
    std::string file;
    uint64_t bytes = 0;
    uint64_t records = 0;  // intact records verify counted in it
  };
  std::vector<Moved> moved;  // whole segments renamed into the quarantine
  DamageFacts facts;
  // A file cut only after its records, with damage after it: what the repair repairs next.
  std::string then;
};

std::string quarantine_of(const std::string& dir) {
  return (fs::path(dir) / "quarantine").string();
}

// The *.wal files of `dir`, in sequence order: their names start with the sequence, zero-padded
// to 8 digits and wider (without a leading zero) past 99,999,999, so a shorter name comes first.
std::vector<std::string> segment_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() == ".wal") names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return names;
}

// `log_kind`: the kind Log::open itself sees (see RepairPlan::named_torn).
RepairPlan plan_repair(const std::string& dir, const log::VerifyReport& report,
                       log::DamageKind log_kind) {
  const log::Damage& d = *report.damage;
  RepairPlan plan;
  plan.facts = damage_facts(report);
  const bool broken = d.kind == log::DamageKind::kBrokenSequence;
  if (!broken) {
    plan.cut = true;
    plan.cut_file = d.file;
    plan.cut_offset = plan.facts.cut_offset;
    plan.cut_bytes = d.offset - plan.cut_offset + d.bytes_after;
    plan.named_torn = log_kind == log::DamageKind::kTornTail;
    plan.torn_to_log_only = plan.named_torn && d.kind != log::DamageKind::kTornTail;
    plan.cut_copy =
        (fs::path(quarantine_of(dir)) / (d.file + ".at-" + std::to_string(plan.cut_offset) +
                                         (plan.named_torn ? ".torn" : ".damaged")))
            .string();
  }
  bool after = false;
  // A file cut only after its records loses none: the later segments stay (recovery.cc), unless
  // damage after it leads the repair to move them (plan_text names it).
  if (d.size_only) {
    plan.then = d.damage_after;
    return plan;
  }
  for (const std::string& name : segment_names(dir)) {
    if (name == d.file) {
      after = true;
      if (!broken) continue;  // cut, not moved
    }
    if (!after) continue;
    RepairPlan::Moved m{name, 0, 0};
    std::error_code ec;
    m.bytes = fs::file_size(fs::path(dir) / name, ec);
    for (const log::SegmentSummary& s : report.segments) {
      if (s.file == name) m.records = s.records;
    }
    plan.moved.push_back(m);
  }
  return plan;
}

std::string plan_text(const std::string& dir, const RepairPlan& plan) {
  const std::string q = quarantine_of(dir);
  std::string s;
  if (plan.cut) {
    s += "  cut       " + plan.cut_file + " from offset " + std::to_string(plan.cut_offset) +
         " (the end of its last intact record): " +
         (plan.cut_bytes == 0 ? std::string("no byte there is other than zero: nothing to copy")
          : plan.facts.header_bytes > 0
              ? "its bytes that are not zero (at most " + bytes_with_human(plan.cut_bytes) +
                    ") copied to " + plan.cut_copy + ", then zeroed in the segment"
              : "about " + bytes_with_human(plan.cut_bytes) + " copied to " + plan.cut_copy +
                    ", then zeroed in the segment") +
         "\n";
    if (plan.facts.header_bytes > 0) {
      s += "  restore   " + plan.cut_file + " to the size its header names: zeros from byte " +
           std::to_string(plan.facts.short_file_bytes) + " to " +
           std::to_string(plan.facts.header_bytes) + " (something cut the file short)\n";
    } else if (plan.facts.grows_from) {
      s += "  restore   " + plan.cut_file + ": zeros from byte " +
           std::to_string(*plan.facts.grows_from) +
           " on, up to a size a log makes (whole 4 KiB blocks, at least the first segment's "
           "size): its header is gone and " +
           std::to_string(*plan.facts.grows_from) + " bytes is not one\n";
    }
    if (plan.torn_to_log_only) {
      s += "            (named .torn: Log::open does not know the engine's snapshots, which make "
           "this corruption)\n";
    }
  }
  for (const RepairPlan::Moved& m : plan.moved) {
    s += "  move      " + m.file + " (" + bytes_with_human(m.bytes) + ", " +
         std::to_string(m.records) + " intact records) to " + (fs::path(q) / m.file).string() +
         "\n";
  }
  if (!plan.then.empty()) {
    s += "  keep      at least " + std::to_string(plan.facts.records_before) +
         " records, up to LSN " + std::to_string(plan.facts.intact_end_lsn) + "\n";
    s += "  then      the repair scans the log again and repairs the damage after it as usual: " +
         plan.then + " (`cairn log recover --dry-run` shows how once this repair is done)\n";
    return s;
  }
  s += "  keep      " + std::to_string(plan.facts.records_before) +
       " records; the log continues at LSN " + std::to_string(plan.facts.intact_end_lsn) + "\n";
  if (plan.facts.records_after > 0 || !plan.moved.empty()) {
    s += "  leave     at least " + std::to_string(plan.facts.records_after) +
         " intact records after the damage leave the log (they stay in " + q + "/)\n";
  }
  return s;
}

nlohmann::json plan_json(const std::string& dir, const RepairPlan& plan) {
  nlohmann::json moved = nlohmann::json::array();
  for (const RepairPlan::Moved& m : plan.moved) {
    moved.push_back({{"file", m.file},
                     {"bytes", m.bytes},
                     {"records", m.records},
                     {"to", (fs::path(quarantine_of(dir)) / m.file).string()}});
  }
  nlohmann::json cut = nullptr;
  nlohmann::json restore = nullptr;
  if (plan.cut) {
    cut = {{"file", plan.cut_file},
           {"offset", plan.cut_offset},
           {"bytes", plan.cut_bytes},
           {"copy_to", plan.cut_copy}};
    if (plan.facts.header_bytes > 0) {
      restore = {{"file", plan.cut_file},
                 {"from_bytes", plan.facts.short_file_bytes},
                 {"to_bytes", plan.facts.header_bytes}};
    } else if (plan.facts.grows_from) {
      // The size is the log's choice (at least its first segment's): not known here.
      restore = {
          {"file", plan.cut_file}, {"from_bytes", *plan.facts.grows_from}, {"to_bytes", nullptr}};
    }
  }
  return {{"cut", cut},
          {"restore", restore},
          {"then", plan.then.empty() ? nlohmann::json(nullptr) : nlohmann::json(plan.then)},
          {"move", moved},
          {"records_kept", plan.facts.records_before},
          {"end_lsn", plan.facts.intact_end_lsn},
          {"records_removed_at_least", plan.facts.records_after},
          {"quarantine", quarantine_of(dir)}};
}

// The engine's snapshots (`snapshots`, those beside the log) above `end`: they describe records
// the repaired log no longer has. Named as the engine lists them, which is also what it moves
// aside at its next start (a stray name, say with too many digits for 64 bits, is neither).
std::vector<std::string> stale_snapshots(const std::string& dir,
                                         const std::vector<detail::SnapshotName>& snapshots,
                                         log::Lsn end) {
  std::vector<std::string> out;
  const std::optional<fs::path> snapshot_dir = engine_snapshot_dir(dir);
  if (!snapshot_dir) return out;
  for (const detail::SnapshotName& s : snapshots) {
    if (s.lsn > end) out.push_back((*snapshot_dir / s.name).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string snapshots_warning(const std::vector<std::string>& stale) {
  if (stale.empty()) return "";
  std::string s =
      "\nNote: this log belongs to an engine whose snapshots cover records the repaired log "
      "no longer has. The engine moves them into snapshots/quarantine/ when it next starts, "
      "before it appends anything (they would describe other records once the log grew past "
      "their LSN):\n";
  for (const std::string& f : stale) s += "  " + f + "\n";
  return s;
}

// `known_durable`: VerifyOptions::known_durable_lsn (the engine's newest snapshot).
Result<log::VerifyReport> verify(const std::string& dir, const std::string& label,
                                 log::Lsn known_durable) {
  log::VerifyOptions options;
  options.payload_verifier = &schema::verify_payload;
  options.known_durable_lsn = known_durable;
  double seconds = 0;
  return verify_log_with_progress(dir, options, label, &seconds);
}

int run_log_recover(const LogRecoverArgs& args) {
  if (Status st = check_log_dir(args.dir); !st.ok()) return fail_unreadable(kCommand, st);
  // An engine's log: records before its newest snapshot were durable, so damage there is
  // corruption, never a torn tail whose loss nobody saw.
  Result<std::vector<detail::SnapshotName>> snapshots = engine_snapshots(args.dir);
  if (!snapshots.ok()) return fail_unreadable(kCommand, snapshots.status());
  const log::Lsn known_durable = known_durable_lsn(args.dir, *snapshots);
  Result<log::VerifyReport> before = verify(args.dir, "verifying " + args.dir, known_durable);
  if (!before.ok()) return fail_unreadable(kCommand, before.status());

  nlohmann::json doc{{"dir", args.dir},
                     {"dry_run", args.dry_run},
                     {"intact_before", before->intact()},
                     {"damage", nullptr},
                     {"plan", nullptr},
                     {"repaired", false},
                     {"quarantined_files", nlohmann::json::array()},
                     {"restored_files", nlohmann::json::array()},
                     {"intact_after", before->intact()},
                     {"records", before->records},
                     {"end_lsn", before->end_lsn},
                     {"stale_snapshots", nlohmann::json::array()}};
  auto dump = [&] {
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  };
  if (before->intact()) {
    const bool written =
        write_output(kCommand, args.json ? dump()
                                         : "log " + args.dir + " is intact: nothing to repair (" +
                                               std::to_string(before->records) + " records, LSN " +
                                               std::to_string(before->first_lsn) + " .. " +
                                               std::to_string(before->end_lsn) + ")\n");
    return written ? kExitOk : kExitUsage;
  }

  // Log::open decides without the snapshots, and names the copy it cuts by its own verdict: damage
  // the snapshots made corruption may still look like a torn tail to it. Only then does it differ,
  // and only then is the log read a second time to know.
  log::DamageKind log_kind = before->damage->kind;
  if (log_kind == log::DamageKind::kCorruption && before->damage->lsn < known_durable) {
    Result<log::VerifyReport> plain = verify(args.dir, "verifying " + args.dir, 0);
    if (!plain.ok()) return fail_unreadable(kCommand, plain.status());
    if (plain->damage) log_kind = plain->damage->kind;
  }
  const RepairPlan plan = plan_repair(args.dir, *before, log_kind);
  const std::vector<std::string> stale =
      stale_snapshots(args.dir, *snapshots, plan.facts.intact_end_lsn);
  // Read once: it loads the engine's newest snapshot, which may be large.
  const std::optional<detail::SnapshotName> past = snapshot_past(args.dir, *before->damage);
  doc["damage"] = damage_json(args.dir, *before, past);
  doc["plan"] = plan_json(args.dir, plan);
  doc["stale_snapshots"] = stale;
  if (args.dry_run) {
    const bool written = write_output(
        kCommand, args.json ? dump()
                            : damage_text(args.dir, *before, past) +
                                  "\nA repair (`cairn log recover " + args.dir +
                                  "` without --dry-run) would open the log with "
                                  "RecoveryMode::kPointInTime:\n" +
                                  plan_text(args.dir, plan) + snapshots_warning(stale) +
                                  "Nothing was changed (--dry-run).\n");
    return written ? kExitDamage : kExitUsage;
  }

  // The engine starts from a snapshot past the damage and never reads it: a repair would only cut
  // the records after the damage, which that engine needs (they are acknowledged, and its
  // snapshot was taken after them). Refused unless asked for by name.
  // A size_only repair cuts no record: nothing the engine needs is at stake.
  if (past && !args.force && !(before->damage->size_only && before->damage->damage_after.empty())) {
    std::fprintf(stderr,
                 "cairn %s: the engine whose log this is opens it as it is: its newest snapshot "
                 "(%s) holds the state up to LSN %llu, past the damage at LSN %llu, and its "
                 "start reads only the log after it. A repair would cut every record from %s on, "
                 "which the engine needs. Nothing was changed. Pass --force to repair anyway "
                 "(then restore the log from a copy, or let the engine run on as it is).\n",
                 kCommand, past->name.c_str(), static_cast<unsigned long long>(past->lsn),
                 static_cast<unsigned long long>(before->damage->lsn),
                 before->damage->size_only
                     ? ("the damage after it (" + before->damage->damage_after + ")").c_str()
                     : ("LSN " + std::to_string(plan.facts.intact_end_lsn)).c_str());
    return kExitUsage;
  }

  // The repair: Log::open in point-in-time mode does it, and syncs every change before it returns.
  log::LogOptions options;
  options.recovery_mode = log::RecoveryMode::kPointInTime;
  options.create_if_missing = false;
  const log::LogHooks hooks{.listener = nullptr, .payload_verifier = &schema::verify_payload};
  Result<std::unique_ptr<log::Log>> opened = log::Log::open(args.dir, options, hooks);
  if (!opened.ok()) {
    const Status& st = opened.status();
    if (st.code() == StatusCode::kLocked) {
      std::fprintf(stderr,
                   "cairn %s: %s\n%s is in use by a running engine (or another program that "
                   "opened the log): stop it first. Nothing was changed.\n",
                   kCommand, st.message().c_str(), args.dir.c_str());
      return kExitRefused;
    }
    std::fprintf(stderr, "cairn %s: the log could not be repaired: %s\n", kCommand,
                 st.message().c_str());
    return kExitDamage;
  }
  const log::RecoveryReport recovery = (*opened)->recovery_report();
  const Status closed = (*opened)->close();
  opened->reset();
  if (!closed.ok()) {
    std::fprintf(stderr, "cairn %s: closing the repaired log: %s\n", kCommand,
                 closed.message().c_str());
  }
  doc["repaired"] = true;
  doc["quarantined_files"] = recovery.quarantined_files;
  doc["restored_files"] = recovery.files_restored;

  Result<log::VerifyReport> after = verify(args.dir, "verifying the repaired log", known_durable);
  if (!after.ok()) return fail_unreadable(kCommand, after.status());
  doc["intact_after"] = after->intact();
  doc["records"] = after->records;
  doc["end_lsn"] = after->end_lsn;
  doc["stale_snapshots"] = stale_snapshots(args.dir, *snapshots, after->end_lsn);

  std::string out;
  if (args.json) {
    out = dump();
  } else {
    const log::Damage& d = *before->damage;
    out = "log " + args.dir + " was DAMAGED: " + std::string(log::damage_kind_name(d.kind)) +
          " in " + d.file + " at offset " + std::to_string(d.offset) + ", LSN " +
          std::to_string(d.lsn) + " (" + d.what + ")\n";
    const std::string q = quarantine_of(args.dir) + "/ (nothing was deleted):\n";
    if (!d.size_only) {
      out +=
          "repaired with RecoveryMode::kPointInTime: everything from the damage on was moved "
          "aside into " +
          q;
    } else if (d.damage_after.empty()) {
      out +=
          "repaired with RecoveryMode::kPointInTime, keeping every record; bytes after the "
          "last record were moved aside into " +
          q;
    } else {
      out += "repaired with RecoveryMode::kPointInTime: " + d.file +
             " kept all its records; from the damage after it on (" + d.damage_after +
             "), what left the log was moved aside into " + q;
    }
    // A path and, when it can be read, the file's size.
    auto with_size = [](const fs::path& file) {
      std::error_code ec;
      const uint64_t bytes = fs::file_size(file, ec);
      return file.string() + (ec ? std::string() : " (" + bytes_with_human(bytes) + ")");
    };
    for (const std::string& f : recovery.quarantined_files) out += "  " + with_size(f) + "\n";
    if (recovery.quarantined_files.empty()) out += "  (no bytes needed moving)\n";
    for (const std::string& f : recovery.files_restored) {
      out += "written back with zeros to a size the log can fill: " +
             with_size(fs::path(args.dir) / f) + "\n";
    }
    if (after->intact()) {
      out += "log " + args.dir + " is intact now: " + std::to_string(after->records) +
             " records, LSN " + std::to_string(after->first_lsn) + " .. " +
             std::to_string(after->end_lsn) + "\n";
    } else {
      out += "\nthe log is still damaged after the repair:\n" +
             damage_text(args.dir, *after, snapshot_past(args.dir, *after->damage));
    }
    // After the repair the log's end is known: the plan's is a lower bound when the repair went
    // on past a file cut only after its records.
    out += snapshots_warning(stale_snapshots(args.dir, *snapshots, after->end_lsn));
  }
  // The repair is done either way: its report not reaching stdout is said apart from both.
  if (!write_output(kCommand, out)) return kExitDoneUnreported;
  return after->intact() && closed.ok() ? kExitOk : kExitDamage;
}

}  // namespace log_recover_impl

void add_log_recover_command(CLI::App& log_group, CommandRun* selected) {
  auto args = std::make_shared<log_recover_impl::LogRecoverArgs>();
  CLI::App* cmd = log_group.add_subcommand(
      "recover",
      "Repair a damaged log: keep it up to the first damage and move the rest aside into "
      "LOGDIR/quarantine/ (--dry-run: only say what would be done)");
  cmd->add_option("DIR", args->dir, "Log directory (LOGDIR)")->required();
  cmd->add_flag("--dry-run", args->dry_run,
                "Change nothing: name the damage (file, offset, LSN) and what a repair would "
                "move aside (bytes, segments, records) and where");
  cmd->add_flag("--force", args->force,
                "Repair even when the engine opens the log as it is (its newest snapshot lies "
                "past the damage): the records after the damage leave the log");
  cmd->add_flag(
      "--json", args->json,
      "One JSON object: {dir, dry_run, intact_before, damage, plan: {cut, move, "
      "restore, then, records_kept, end_lsn, records_removed_at_least, quarantine}, repaired, "
      "quarantined_files, restored_files, intact_after, records, end_lsn, "
      "stale_snapshots}");
  cmd->footer(
      "The repair opens the log with RecoveryMode::kPointInTime (it takes the log's lock: stop\n"
      "the engine first). The damaged segment's bytes from the first bad frame on are copied to\n"
      "LOGDIR/quarantine/ and zeroed in place, later segments are renamed into it; nothing is\n"
      "deleted. Records after the damage are no longer in the log. A segment file that\n"
      "something cut short is written back to its size with zeros after its last record (when\n"
      "the next segment begins right there, nothing is missing and no segment is moved).\n"
      "Then the log is verified.\n"
      "Read `cairn log verify` first: corruption may mean restoring from a copy is better.\n"
      "Exit status: 0 the log is intact (repaired, or was already), 1 damage remains (always\n"
      "with --dry-run when there is damage) or the repair failed, 2 usage error or DIR cannot be\n"
      "read, or the engine opens the log as it is (its newest snapshot lies past the damage;\n"
      "--force repairs anyway), 4 the log is in use by a running engine, 5 repaired, but the\n"
      "report could not be written (`cairn log verify` shows the log as it is now).");
  cmd->callback([args, selected] {
    *selected = [args] { return log_recover_impl::run_log_recover(*args); };
  });
}

}  // namespace cairn::tools
