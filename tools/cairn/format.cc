// Number formatting for summaries (see format.h).
#include "format.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "cairn/log/check.h"

namespace cairn::tools {

std::string human_bytes(uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string bytes_with_human(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  return std::to_string(bytes) + " (" + human_bytes(bytes) + ")";
}

std::string megabytes_per_second(uint64_t bytes, double seconds) {
  // Below a millisecond the clock's resolution and the process's start-up noise dominate.
  if (seconds < 1e-3) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB/s", static_cast<double>(bytes) / 1e6 / seconds);
  return buf;
}

std::string wrap_text(std::string_view text, size_t width) {
  CAIRN_CHECK(width > 0);
  std::string out;
  size_t line_len = 0;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (word.empty()) continue;
    if (line_len > 0 && line_len + 1 + word.size() > width) {
      out += '\n';
      line_len = 0;
    }
    if (line_len > 0) {
      out += ' ';
      ++line_len;
    }
    out += word;
    line_len += word.size();
  }
  if (line_len > 0) out += '\n';
  return out;
}

namespace {

// Characters, not bytes: continuation bytes of UTF-8 take no column.
size_t columns(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

std::string table_text(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], columns(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line.append(2, ' ');
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - columns(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace cairn::tools
