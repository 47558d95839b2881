// The engine's options file (see options_file.h): which options it names, their text, and
// reading and writing it.
#include "options_file.h"

#include <array>
#include <charconv>
#include <chrono>
#include <limits>
#include <variant>

namespace cairn {
namespace {

// One option the file names: where it lives in EngineOptions, and its type.
using Field = std::variant<uint32_t EngineOptions::*, uint64_t EngineOptions::*,
                           std::chrono::milliseconds EngineOptions::*, bool EngineOptions::*,
                           uint32_t log::LogOptions::*, uint64_t log::LogOptions::*>;

struct Named {
  std::string_view name;
  Field field;
};

// The limits a tool's engine enforces or needs to start (the log's sizes, which start() checks
// against each other and against the engine's limits), and what `cairn log stats` reports about
// retention. Not the options of this process alone (dir, workers, clock, the snapshot triggers,
// callbacks): a tool sets its own. A new option is added at the end; a name is never reused for
// another meaning.
const std::array<Named, 26> kFields{{
    {"event_bytes_max", &EngineOptions::event_bytes_max},
    {"event_id_bytes_max", &EngineOptions::event_id_bytes_max},
    {"step_output_bytes_max", &EngineOptions::step_output_bytes_max},
    {"steps_per_run_max", &EngineOptions::steps_per_run_max},
    {"step_id_bytes_max", &EngineOptions::step_id_bytes_max},
    {"error_bytes_max", &EngineOptions::error_bytes_max},
    {"runs_active_max", &EngineOptions::runs_active_max},
    {"runs_finished_kept", &EngineOptions::runs_finished_kept},
    {"runs_finished_bytes_max", &EngineOptions::runs_finished_bytes_max},
    {"dedup_window_ms", &EngineOptions::dedup_window},
    {"dedup_ids_max", &EngineOptions::dedup_ids_max},
    {"runs_executing_max", &EngineOptions::runs_executing_max},
    {"runs_queued_per_function_max", &EngineOptions::runs_queued_per_function_max},
    {"flow_keys_max", &EngineOptions::flow_keys_max},
    {"idempotency_keys_max", &EngineOptions::idempotency_keys_max},
    {"cron_catch_up_max", &EngineOptions::cron_catch_up_max},
    {"snapshots", &EngineOptions::snapshots},
    {"snapshots_kept", &EngineOptions::snapshots_kept},
    {"snapshot_bytes_max", &EngineOptions::snapshot_bytes_max},
    {"retention", &EngineOptions::retention},
    {"history_window_ms", &EngineOptions::history_window},
    {"log.record_bytes_max", &log::LogOptions::record_bytes_max},
    {"log.batch_bytes_max", &log::LogOptions::batch_bytes_max},
    {"log.staging_bytes", &log::LogOptions::staging_bytes},
    {"log.segment_bytes", &log::LogOptions::segment_bytes},
    {"log.segment_bytes_initial", &log::LogOptions::segment_bytes_initial},
}};

constexpr std::string_view kFormatName = "format";

std::string value_text(const EngineOptions& o, const Field& field) {
  struct Visit {
    const EngineOptions& o;
    std::string operator()(uint32_t EngineOptions::*m) const { return std::to_string(o.*m); }
    std::string operator()(uint64_t EngineOptions::*m) const { return std::to_string(o.*m); }
    std::string operator()(std::chrono::milliseconds EngineOptions::*m) const {
      return std::to_string((o.*m).count());
    }
    std::string operator()(bool EngineOptions::*m) const { return o.*m ? "true" : "false"; }
    std::string operator()(uint32_t log::LogOptions::*m) const { return std::to_string(o.log.*m); }
    std::string operator()(uint64_t log::LogOptions::*m) const { return std::to_string(o.log.*m); }
  };
  return std::visit(Visit{o}, field);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A decimal number no larger than `max`, digits only.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

template <typename T>
bool assign_number(T& to, std::string_view text) {
  const std::optional<uint64_t> v = parse_number(text, std::numeric_limits<T>::max());
  if (v) to = static_cast<T>(*v);
  return v.has_value();
}

// Sets `field` of `*o` from `text`; false when the text is not a value of its type.
bool set_value(EngineOptions* o, const Field& field, std::string_view text) {
  struct Visit {
    EngineOptions* o;
    std::string_view text;
    bool operator()(uint32_t EngineOptions::*m) const { return assign_number(o->*m, text); }
    bool operator()(uint64_t EngineOptions::*m) const { return assign_number(o->*m, text); }
    bool operator()(std::chrono::milliseconds EngineOptions::*m) const {
      const std::optional<uint64_t> v =
          parse_number(text, static_cast<uint64_t>(std::chrono::milliseconds::max().count()));
      if (v) o->*m = std::chrono::milliseconds(static_cast<int64_t>(*v));
      return v.has_value();
    }
    bool operator()(bool EngineOptions::*m) const {
      if (text != "true" && text != "false") return false;
      o->*m = text == "true";
      return true;
    }
    bool operator()(uint32_t log::LogOptions::*m) const { return assign_number(o->log.*m, text); }
    bool operator()(uint64_t log::LogOptions::*m) const { return assign_number(o->log.*m, text); }
  };
  return std::visit(Visit{o, text}, field);
}

Status bad_line(size_t line, const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "line " + std::to_string(line) + ": " + what);
}

}  // namespace

std::string encode_options_file(const EngineOptions& o) {
  std::string s =
      "# The options this engine was last started with, written by Engine::start(). The cairn\n"
      "# tool applies them when it opens this directory itself; the engine does not read them.\n"
      "# Rewritten at every start: change the application's EngineOptions, not this file.\n";
  s += std::string(kFormatName) + " = " + std::to_string(kOptionsFormatVersion) + "\n";
  for (const Named& f : kFields) s += std::string(f.name) + " = " + value_text(o, f.field) + "\n";
  return s;
}

Result<OptionsFileRead> decode_options_file(std::string_view text, EngineOptions* o) {
  if (text.size() > kOptionsFileBytesMax) {
    return Status(StatusCode::kLimitExceeded, "it holds " + std::to_string(text.size()) +
                                                  " bytes, more than an options file may (" +
                                                  std::to_string(kOptionsFileBytesMax) + ")");
  }
  EngineOptions result = *o;
  OptionsFileRead read;
  std::array<bool, kFields.size()> seen{};
  bool format_seen = false;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad_line(line_no, "no '=' (a line is NAME = VALUE)");
    const std::string_view name = trim(line.substr(0, eq));
    const std::string_view value = trim(line.substr(eq + 1));
    if (name.empty()) return bad_line(line_no, "no name before '='");
    if (name == kFormatName) {
      if (format_seen) return bad_line(line_no, "format is given twice");
      const std::optional<uint64_t> v = parse_number(value, std::numeric_limits<uint32_t>::max());
      if (!v || *v == 0) return bad_line(line_no, "format must be a positive number");
      if (*v > kOptionsFormatVersion) {
        return bad_line(line_no, "format " + std::to_string(*v) +
                                     " is newer than this build reads (" +
                                     std::to_string(kOptionsFormatVersion) +
                                     "): use the cairn tool of the engine that wrote it");
      }
      format_seen = true;
      continue;
    }
    size_t i = 0;
    while (i < kFields.size() && kFields[i].name != name) ++i;
    if (i == kFields.size()) {
      // The printable part only: the report must not carry control bytes to a terminal.
      std::string shown;
      for (char c : name.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
      read.skipped.push_back("line " + std::to_string(line_no) + ": " + shown);
      continue;
    }
    if (seen[i]) return bad_line(line_no, std::string(name) + " is given twice");
    seen[i] = true;
    if (!set_value(&result, kFields[i].field, value)) {
      const bool is_bool = std::holds_alternative<bool EngineOptions::*>(kFields[i].field);
      return bad_line(line_no, std::string(name) + " must be " +
                                   (is_bool ? "true or false" : "a decimal number in range"));
    }
  }
  if (!format_seen) {
    return Status(StatusCode::kInvalidArgument,
                  "no `format = N` line: it is not an engine's options file");
  }
  *o = std::move(result);
  return read;
}

Status write_options_file(log::FileSystem& fs, const std::filesystem::path& dir,
                          const EngineOptions& o) {
  const std::string text = encode_options_file(o);
  Result<std::optional<std::string>> now = read_options_file(fs, dir);
  if (now.ok() && now->has_value() && **now == text) return Status();
  return log::write_file_atomically(
      fs, dir.string(), std::string(kOptionsFileName),
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

Result<std::optional<std::string>> read_options_file(log::FileSystem& fs,
                                                     const std::filesystem::path& dir) {
  const std::string path = (dir / kOptionsFileName).string();
  CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(path));
  if (!exists) return std::optional<std::string>();
  CAIRN_ASSIGN_OR_RETURN(int fd, fs.open(path, log::OpenFlags{}));
  // One byte more than the limit, so that a longer file is told from one at the limit.
  std::string text(kOptionsFileBytesMax + 1, '\0');
  Result<size_t> got = fs.pread(fd, text.data(), text.size(), 0);
  const Status closed = fs.close(fd);
  if (!got.ok()) return got.status();
  if (!closed.ok()) return closed;
  if (*got > kOptionsFileBytesMax) {
    return Status(StatusCode::kLimitExceeded, path + " is larger than an options file may be (" +
                                                  std::to_string(kOptionsFileBytesMax) + " bytes)");
  }
  text.resize(*got);
  return std::optional<std::string>(std::move(text));
}

Result<std::optional<OptionsFileRead>> apply_options_file(log::FileSystem& fs,
                                                          const std::filesystem::path& dir,
                                                          EngineOptions* o) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> text, read_options_file(fs, dir));
  if (!text) return std::optional<OptionsFileRead>();
  CAIRN_ASSIGN_OR_RETURN(OptionsFileRead read, decode_options_file(*text, o));
  return std::optional<OptionsFileRead>(std::move(read));
}

}  // namespace cairn
