// json_field (see json_field.h), on nlohmann::json.
#include "json_field.h"

#include <nlohmann/json.hpp>

namespace cairn::detail {

std::optional<std::string> json_field(std::string_view document, std::string_view path) {
  constexpr std::string_view kPrefix = "data.";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  nlohmann::json doc = nlohmann::json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  const nlohmann::json* cur = &doc;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object()) return std::nullopt;
    auto it = cur->find(key);
    if (it == cur->end()) return std::nullopt;
    cur = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur->dump();
}

std::optional<std::string> canonical_json(std::string_view text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return v.dump();
}

bool is_json_object(std::string_view text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  return !v.is_discarded() && v.is_object();
}

}  // namespace cairn::detail
