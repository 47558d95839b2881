// The record schema as seen from C++: the names of record types, verification of payload bytes
// against their FlatBuffers table, and rendering a payload as JSON for tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cairn/schema/records_generated.h"

namespace cairn::schema {

// The name of a record type ("StepCompleted"), or "" for a number no schema version defines.
std::string_view record_type_name(uint16_t type);

// True when `type` is a record type this build knows.
bool is_known_record_type(uint16_t type);

// The values of CopiedOp.kind (cairn::OpKind, which the engine checks against these).
inline constexpr uint8_t kCopiedOpKindMin = 1;
inline constexpr uint8_t kCopiedOpKindMax = 5;

// Runs the FlatBuffers verifier for the table that belongs to `type`, and refuses a value of an
// enum field this build does not know (a newer version's), except a ValueFormat, which tools show
// as bytes. Payload bytes come from disk or a user and are untrusted: nothing may read a payload
// before this returns true.
bool verify_payload(uint16_t type, std::span<const std::byte> payload);

// The payload as one line of JSON (an object), "null" for a record type this build does not know
// or an empty payload. Precondition: verify_payload(type, payload) returned true. What `cairn log
// dump`, `log export` and `runs show` print, so they all show the same thing for the same bytes:
// - every field of the record's table, in schema order, also the ones FlatBuffers did not store
//   because they hold their default (0, false, the enum's first name, "" for a string, [] for a
//   vector, null for a table), so each record type always has the same keys;
// - a recorded value (a step's or a run's `output`) by its ValueFormat (value_to_json): JSON as
//   that JSON, text as a string, bytes as an array of byte values, no bytes as null;
// - fields that hold JSON text (an event's `data`, a run's `event_data`, a wait's `match_value`)
//   as that JSON value, or as a string when they do not parse;
// - strings as valid JSON whatever their bytes (not UTF-8: U+FFFD).
std::string payload_to_json(uint16_t type, std::span<const std::byte> payload);

// The deepest nesting of arrays and objects value_to_json renders as JSON; deeper JSON is shown as
// a string, as text that does not parse is. Keeps what renders it (and what reads the output)
// clear of deep recursion.
inline constexpr size_t kJsonDepthMax = 256;

// True when arrays and objects in `text` nest more than `max` levels deep. Brackets inside strings
// do not count (escapes respected). Cheap and never recursive: it runs before anything parses
// (nlohmann's dump recurses once per level), for whatever takes JSON from users or from disk.
bool json_nests_deeper_than(std::string_view text, size_t max);

// A recorded value as JSON text, by its ValueFormat (schema::ValueFormat): JSON that parses (and
// nests at most kJsonDepthMax levels) is copied, text becomes a JSON string (bytes that are not
// UTF-8 become U+FFFD), anything else an array of byte values; no bytes at all are null.
std::string value_to_json(std::string_view bytes, ValueFormat format);

}  // namespace cairn::schema
