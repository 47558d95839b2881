// utf8_prefix: text cut to a number of bytes without splitting a character, for what the tool
// keeps or shows of errors and answers (a split character becomes U+FFFD in JSON, or worse).
#pragma once

#include <cstddef>
#include <string_view>

#include "engine_limits.h"  // the engine's own: one rule for where a cut may fall

namespace cairn::tools {

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
inline std::string_view utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  return s.substr(0, detail::utf8_prefix_end(s, max));
}

}  // namespace cairn::tools
