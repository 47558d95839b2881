// The engine's options file, DIR/OPTIONS: the limits an engine was started with, written by
// start() so that the cairn tool, when it opens the directory of a stopped engine itself
// (`events send`, `runs cancel`, `runs replay`, `serve`), holds events and runs to the limits the
// application set rather than to the defaults (as RocksDB keeps an OPTIONS file beside its data).
//
// It is advice for tools, not state: the engine never reads it back, and nothing durable depends
// on it, so a missing file (a directory older than it) means the defaults, and a damaged one is
// refused by the tool with the line at fault. Text, so that a person can read and fix it:
//
//   # comment lines and blank lines are skipped
//   format = 1
//   event_bytes_max = 262144
//   log.record_bytes_max = 1048576
//   dedup_window_ms = 86400000
//   retention = true
//
// Each line `name = value`, values decimal (durations in milliseconds, names ending _ms) or
// true/false. Names this build does not know (a newer engine's) are skipped and reported; a
// newer `format` is refused. At most kOptionsFileBytesMax bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/engine.h"
#include "cairn/log/io.h"

namespace cairn {

inline constexpr std::string_view kOptionsFileName = "OPTIONS";
inline constexpr uint32_t kOptionsFormatVersion = 1;
// A file written by this build takes about 1 KiB; a longer one is not read.
inline constexpr size_t kOptionsFileBytesMax = 64 << 10;

// The file's text for `o`: every option it names, in a fixed order.
std::string encode_options_file(const EngineOptions& o);

struct OptionsFileRead {
  // "line N: NAME", for each name this build does not know (skipped).
  std::vector<std::string> skipped{};
};

// Sets the options `text` names in `*o`; the others keep their values. Refuses text that is not
// such a file (no `format`), a newer format, a malformed line, a value out of its type's range and
// a name given twice, with kInvalidArgument naming the line, and text over kOptionsFileBytesMax
// with kLimitExceeded; `*o` is then unchanged. Ranges the engine checks at start()
// (check_engine_limits) are left to it.
Result<OptionsFileRead> decode_options_file(std::string_view text, EngineOptions* o);

// Replaces dir/OPTIONS with the file for `o` (log::write_file_atomically), unless it holds that
// text already: a restart with the same options costs a read, not two syncs.
Status write_options_file(log::FileSystem& fs, const std::filesystem::path& dir,
                          const EngineOptions& o);

// The text of dir/OPTIONS; std::nullopt when there is none. kLimitExceeded past
// kOptionsFileBytesMax, kInvalidArgument when it is not a regular file.
Result<std::optional<std::string>> read_options_file(log::FileSystem& fs,
                                                     const std::filesystem::path& dir);

// read_options_file, then decode_options_file into `*o`: std::nullopt when there is no file. Its
// errors, which do not name the file, leave `*o` unchanged.
Result<std::optional<OptionsFileRead>> apply_options_file(log::FileSystem& fs,
                                                          const std::filesystem::path& dir,
                                                          EngineOptions* o);

}  // namespace cairn
