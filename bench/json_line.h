// The one result line every measuring subcommand ends with: a flat JSON object, keys in the order
// they were set, printed as the last line of stdout (the target scripts read only that line).
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace cairn::bench {

using JsonLine = nlohmann::ordered_json;

// `value` rounded to `decimals` places, so the line stays readable (1234567.8, not 1234567.812..).
inline double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

// A rounded number, or JSON null when the figure was not measured (or is not finite).
inline JsonLine number_or_null(std::optional<double> value, int decimals) {
  if (!value.has_value() || !std::isfinite(*value)) return nullptr;
  return rounded(*value, decimals);
}

// Prints `line` as one line and flushes, after anything printed to stderr so far.
inline void print_json_line(const JsonLine& line) {
  std::fflush(stderr);
  const std::string text = line.dump();
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace cairn::bench
