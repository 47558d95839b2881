// One payload of every record type in schema/records.fbs, with every field set to a non-default
// value (FlatBuffers leaves default-valued fields out, and then nothing would be rendered), so that
// tests can check how each type renders as JSON.
#pragma once

#include <string>
#include <vector>

#include "test_logs.h"

namespace cairn::testing {

struct SampleRecord {
  log::RecordType type = 0;
  std::string type_name;
  std::vector<std::byte> payload;
};

// Every string field of every record holds `text`; vectors of bytes hold 0, 1, 127, 128, 255 (or
// are empty when `empty_vectors`).
std::vector<SampleRecord> sample_record_of_each_type(const std::string& text, bool empty_vectors);

// Text with everything a JSON string must escape or encode: quotes, backslashes, control
// characters, DEL, and multi-byte UTF-8 (two, three and four bytes).
std::string tricky_text();

}  // namespace cairn::testing
