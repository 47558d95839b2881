// Shared command plumbing (see command.h).
#include "command.h"

#include <cstdio>

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
