// Formatting one record for `cairn log dump` (see record_line.h).
#include "record_line.h"

#include <nlohmann/json.hpp>

#include "cairn/schema/record_schema.h"
#include "record_display.h"

namespace cairn::tools {
namespace {

// The payload as JSON text, or an empty `json` and the reason it cannot be shown.
struct RenderedPayload {
  std::string json;
  std::string problem;
};

RenderedPayload render_payload(const log::ReadRecord& record, bool payload_verified) {
  if (!schema::is_known_record_type(record.type)) {
    return {"", "record type " + std::to_string(record.type) + " is unknown to this build"};
  }
  // payload_to_json reads the buffer without bounds checks: it needs a verified payload.
  if (!payload_verified && !schema::verify_payload(record.type, record.payload)) {
    return {"", "payload fails FlatBuffers verification as " +
                    std::string(schema::record_type_name(record.type))};
  }
  std::string text = schema::payload_to_json(record.type, record.payload);
  // Check the rendering rather than trust it: the output promises JSON.
  if (!nlohmann::json::accept(text)) {
    return {"", "the payload rendered as invalid JSON: " + text};
  }
  return {std::move(text), ""};
}

// A JSON string literal for `s` (quotes and escapes), never throwing on bad UTF-8.
std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_text(const log::ReadRecord& record, const RenderedPayload& payload, OutputBuffer& out) {
  out.append("lsn=");
  out.append_uint(record.lsn);
  out.append(" type=");
  const std::string_view name = schema::record_type_name(record.type);
  if (name.empty()) {
    out.append("unknown(");
    out.append_uint(record.type);
    out.append(')');
  } else {
    out.append(name);
  }
  out.append(" bytes=");
  out.append_uint(record.payload.size());
  out.append(" segment=");
  out.append_uint(record.segment_seq);
  out.append(" offset=");
  out.append_uint(record.offset);
  out.append(' ');
  if (payload.problem.empty()) {
    out.append(payload.json);
  } else {
    out.append("payload_error=");
    out.append(json_string(payload.problem));
  }
  out.append('\n');
}

void append_json(const log::ReadRecord& record, const RenderedPayload& payload, OutputBuffer& out) {
  // Written field by field rather than through a json object: dump emits millions of these and
  // the payload is already JSON text.
  out.append("{\"lsn\":");
  out.append_uint(record.lsn);
  const std::string_view name = schema::record_type_name(record.type);
  out.append(",\"type\":");
  if (name.empty()) {
    out.append("null");
  } else {
    out.append('"');
    out.append(name);  // an identifier from the schema: nothing to escape
    out.append('"');
  }
  out.append(",\"type_id\":");
  out.append_uint(record.type);
  out.append(",\"payload_bytes\":");
  out.append_uint(record.payload.size());
  out.append(",\"segment\":");
  out.append_uint(record.segment_seq);
  out.append(",\"offset\":");
  out.append_uint(record.offset);
  out.append(",\"payload\":");
  if (payload.problem.empty()) {
    out.append(payload.json);
  } else {
    out.append("null,\"payload_error\":");
    out.append(json_string(payload.problem));
  }
  out.append("}\n");
}

}  // namespace

void append_record_line(const log::ReadRecord& record, const RecordLineOptions& options,
                        OutputBuffer& out) {
  const RenderedPayload payload = render_payload(record, options.payload_verified);
  if (options.json) {
    append_json(record, payload, out);
  } else {
    append_text(record, payload, out);
  }
}

}  // namespace cairn::tools
