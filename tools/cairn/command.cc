// Shared command plumbing (see command.h).
#include "command.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cairn::tools {

int fail_unreadable(std::string_view command, const Status& status) {
  std::fprintf(stderr, "cairn %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               status.message().c_str());
  return kExitUsage;
}

CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const size_t first = value.find_first_not_of(" \t");
        if (first != std::string::npos && value[first] == '-') return "must not be negative";
        // CLI11 converts with strtoull (base 0) and ignores ERANGE: a number too large for 64
        // bits became 2^64 - 1. Ask strtoull the same way, and say no. Sizes ("8MiB") parse up to
        // their suffix here, which is all this needs.
        errno = 0;
        char* end = nullptr;
        (void)std::strtoull(value.c_str(), &end, 0);
        if (errno == ERANGE) {
          return value + " is too large (at most " + std::to_string(~uint64_t{0}) + ")";
        }
        return "";
      },
      "", "non-negative");
}

CLI::Validator byte_size() {
  CLI::AsSizeValue sizes(/*kb_is_1000=*/false);
  sizes.description("");  // the option's own help names the suffixes
  return sizes;
}

}  // namespace cairn::tools
