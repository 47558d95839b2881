// How the tool shows a record's payload and the values in it, shared by `log dump`, `log export`
// and `runs show`, so that they all print the same thing for the same bytes:
// - every field of the record's table, in schema order, also the ones FlatBuffers did not store
//   because they hold their default (0, false, the enum's first name, "" for a string, [] for a
//   vector, null for a table), so each record type always has the same keys;
// - a recorded value (a step's or a run's `output`) by its ValueFormat: JSON as that JSON, text as
//   a string, bytes as an array of byte values, no bytes as null (schema::value_to_json);
// - fields that hold JSON text (an event's `data`, a run's `event_data`, a wait's `match_value`)
//   as that JSON value, or as a string when they do not parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cairn/schema/record_schema.h"

namespace cairn::tools {

// The payload as one line of JSON (an object). Precondition: schema::verify_payload(type,
// payload) returned true. A record type this file does not know (added to the schema later) is
// rendered by schema::payload_to_json.
std::string payload_json(uint16_t type, std::span<const std::byte> payload);

// When the record happened on the engine's clock, in microseconds since the Unix epoch: the time
// the record carries (an event's acceptance, a step attempt's end, a run's end, ...). nullopt for
// records that carry none (Blob). Precondition: as for payload_json.
std::optional<int64_t> record_time_us(uint16_t type, std::span<const std::byte> payload);

// A recorded value as JSON text by its format (schema::value_to_json).
std::string value_json(std::string_view bytes, schema::ValueFormat format);

// value_json cut to at most `max_chars` bytes for a table cell or a timeline line: a longer
// rendering ends in "… (<n> bytes)" with the value's size. Never splits a UTF-8 sequence.
std::string value_preview(std::string_view bytes, schema::ValueFormat format, size_t max_chars);

// `text` on one line (line breaks and tabs as spaces), cut like value_preview.
std::string text_preview(std::string_view text, size_t max_chars);

}  // namespace cairn::tools
