// Codec<nlohmann::json>: JSON documents as step values and results, recorded as JSON text (tools
// show them as they are). Include it where a function uses nlohmann::json values; cairn/engine.h
// does not pull nlohmann/json into code that does not.
#pragma once

#include <nlohmann/json.hpp>

#include "cairn/codec.h"

namespace cairn {

template <>
struct Codec<nlohmann::json> {
  static constexpr ValueFormat format = ValueFormat::kJson;
  static void encode(const nlohmann::json& v, std::string& out) { out = v.dump(); }
  static nlohmann::json decode(std::string_view b) { return nlohmann::json::parse(b); }
};

}  // namespace cairn
