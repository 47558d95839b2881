// Reads one field of a JSON document by a dotted path ("data.order_id"), as canonical JSON text,
// so two events' fields compare equal exactly when their values are equal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::detail {

// `path` starts with "data." (the event's data object is the document); other paths are not
// fields of event data and give nullopt, as does a missing field, text that is not JSON, or a
// field nested deeper than schema::kJsonDepthMax (printing it would recurse once per level).
std::optional<std::string> json_field(std::string_view document, std::string_view path);

// The canonical text of a JSON value given as text (for WaitOptions::value), or nullopt (not
// JSON, or nested deeper than schema::kJsonDepthMax).
std::optional<std::string> canonical_json(std::string_view text);

// The text of the value at `path` ("data.a.b") in `document` as written there (not canonical),
// without building a tree: flow control evaluates a key per run on the applying thread. Same
// answer as json_field up to canonical form (the last of duplicate names wins, as there) for a
// valid document; nullopt when the field is absent, the path is not under "data.", or the text
// around it is not JSON. Never reads outside `document`.
std::optional<std::string_view> json_field_text(std::string_view document, std::string_view path);

// True when `text` is a JSON object.
bool is_json_object(std::string_view text);
// Why `text` cannot be an event's (or an invoke's) data: not a JSON object, or arrays and objects
// nested deeper than schema::kJsonDepthMax (whatever renders it — an on_failure handler's event,
// a wait's matched value, the tools, the dashboard — recurses once per level); nullopt when it can.
std::optional<std::string> event_data_problem(std::string_view text);

}  // namespace cairn::detail
