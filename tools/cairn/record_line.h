// One log record as one line of `cairn log dump` output, as text or as a JSON object, with its
// payload rendered as JSON by schema::payload_to_json (every field; values by their format).
#pragma once

#include "cairn/log/reader.h"
#include "output_buffer.h"

namespace cairn::tools {

struct RecordLineOptions {
  bool json = false;
  // The reader already ran the FlatBuffers verifier on the payload. When false, the payload is
  // verified here before it is rendered, and one that fails is shown as an error, not rendered.
  bool payload_verified = true;
};

// Text: `lsn=<n> type=<Name> bytes=<payload bytes> segment=<seq> offset=<off> <payload JSON>`.
// JSON: {"lsn":..,"type":"StepCompleted","type_id":3,"payload_bytes":..,"segment":..,
//        "offset":..,"payload":{..}} plus "payload_error":".." when the payload cannot be shown
//        (then "payload" is null).
void append_record_line(const log::ReadRecord& record, const RecordLineOptions& options,
                        OutputBuffer& out);

}  // namespace cairn::tools
