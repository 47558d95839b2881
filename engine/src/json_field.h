// Reads one field of a JSON document by a dotted path ("data.order_id"), as canonical JSON text,
// so two events' fields compare equal exactly when their values are equal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::detail {

// `path` starts with "data." (the event's data object is the document); other paths are not
// fields of event data and give nullopt, as does a missing field or text that is not JSON.
std::optional<std::string> json_field(std::string_view document, std::string_view path);

// The canonical text of a JSON value given as text (for WaitOptions::value), or nullopt.
std::optional<std::string> canonical_json(std::string_view text);

// True when `text` is a JSON object.
bool is_json_object(std::string_view text);

}  // namespace cairn::detail
