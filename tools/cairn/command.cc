// Shared command plumbing (see command.h).
#include "command.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace cairn::tools {

int fail_unreadable(std::string_view command, const Status& status) {
  std::fprintf(stderr, "cairn %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               status.message().c_str());
  return kExitUsage;
}

bool write_output(std::string_view command, const std::string& out) {
  if (std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0) {
    return true;
  }
  (void)fail_unreadable(command, errno_status(errno, "writing the output"));
  return false;
}

namespace {

// decimal_number's check and normalization: "" when `value` is a decimal number (rewritten
// without leading zeros), else why not.
std::string normalize_decimal(std::string& value) {
  const size_t first = value.find_first_not_of(" \t");
  if (first != std::string::npos && value[first] == '-') return "must not be negative";
  const size_t digits_end = value.find_first_not_of("0123456789", first);
  const std::string digits =
      value.substr(first == std::string::npos ? value.size() : first,
                   digits_end == std::string::npos ? std::string::npos : digits_end - first);
  const std::string rest = digits_end == std::string::npos ? "" : value.substr(digits_end);
  if (digits.empty()) return value + " is not a decimal number";
  // CLI11 converts with strtoull base 0: "0415" would be octal (run 269) and "0x10" hex.
  // Ids and LSNs are decimal wherever Cairn prints them, so a leading zero means nothing
  // and a base prefix is refused, instead of acting on another run.
  if (digits == "0" && !rest.empty() &&
      std::string_view("xXbBoO").find(rest[0]) != std::string_view::npos) {
    return value + " is not a decimal number (no 0x, 0b or 0o prefixes)";
  }
  const size_t nonzero = digits.find_first_not_of('0');
  value = (nonzero == std::string::npos ? std::string("0") : digits.substr(nonzero)) + rest;
  // CLI11 ignores ERANGE: a number too large for 64 bits became 2^64 - 1. Ask strtoull the
  // same way, and say no. Sizes ("8MiB") parse up to their suffix here, which is all this
  // needs.
  errno = 0;
  char* end = nullptr;
  (void)std::strtoull(value.c_str(), &end, 10);
  if (errno == ERANGE) {
    return value + " is too large (at most " + std::to_string(~uint64_t{0}) + ")";
  }
  return "";
}

}  // namespace

CLI::Validator decimal_number() {
  return CLI::Validator(normalize_decimal, "", "decimal");
}

CLI::Validator run_id_number() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (std::string why = normalize_decimal(value); !why.empty()) return why;
        return value == "0" ? "0 is not a run id (run ids start at 1)" : "";
      },
      "", "run id");
}

CLI::Validator byte_size() {
  CLI::AsSizeValue sizes(/*kb_is_1000=*/false);
  sizes.description("");  // the option's own help names the suffixes
  return sizes;
}

}  // namespace cairn::tools
