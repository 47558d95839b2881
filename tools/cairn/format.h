// Number formatting shared by the commands: machine-friendly integers stay plain; summaries add
// human-readable sizes and rates next to them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::tools {

// "512 B", "3.0 KiB", "64.0 MiB", "1.5 GiB" (binary units).
std::string human_bytes(uint64_t bytes);

// "1048576 (1.0 MiB)": the exact count first, for scripts, then the readable size ("424 B" below
// 1 KiB, where the two would say the same).
std::string bytes_with_human(uint64_t bytes);

// Decimal megabytes per second ("812.4 MB/s"), or "-" when the time is too short to measure.
std::string megabytes_per_second(uint64_t bytes, double seconds);

// `text` broken into lines of at most `width` columns at spaces (a longer word keeps its own line),
// each line ending in '\n'.
std::string wrap_text(std::string_view text, size_t width);

// Rows as a table: each column as wide as its widest cell (in UTF-8 characters), two spaces
// between columns, no trailing spaces, '\n' after each row. The first row is usually the header.
std::string table_text(const std::vector<std::vector<std::string>>& rows);

}  // namespace cairn::tools
