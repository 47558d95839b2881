// How the tool shows the times and values in a record, shared by `log dump`, `log export` and `runs
// show`, so that they all print the same thing for the same bytes. A whole payload is rendered by
// schema::payload_to_json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cairn/schema/record_schema.h"

namespace cairn::tools {

// When the record happened on the engine's clock, in microseconds since the Unix epoch: the time
// the record carries (an event's acceptance, a step attempt's end, a run's end, ...). nullopt for
// records that carry none (Blob). Precondition: schema::verify_payload(type, payload) returned
// true.
std::optional<int64_t> record_time_us(uint16_t type, std::span<const std::byte> payload);

// A recorded value as JSON text by its format (schema::value_to_json).
std::string value_json(std::string_view bytes, schema::ValueFormat format);

// value_json cut to at most `max_chars` bytes for a table cell or a timeline line: a longer
// rendering ends in "… (<n> bytes)" with the value's size. Never splits a UTF-8 sequence.
std::string value_preview(std::string_view bytes, schema::ValueFormat format, size_t max_chars);

// `text` on one line (line breaks and tabs as spaces), cut like value_preview.
std::string text_preview(std::string_view text, size_t max_chars);

}  // namespace cairn::tools
