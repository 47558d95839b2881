// KeyExpression: a key expression over the triggering event ("data.customer_id", "event.name"),
// checked once when a function is registered, then evaluated against each event to give the key a
// flow-control limit counts by. Field lookup is json_field's (the same path walk waits use).
// Used by FunctionFlow (docs/flow-control.md).
// Immutable after compile; safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "cairn/log/status.h"

namespace cairn::flow {

struct KeyExpressionOptions {
  // Longest expression text. Longer: refused at compile. Default: 256.
  uint32_t expression_bytes_max = 256;
  // Most fields below `data` ("data.a.b" is 2). More: refused at compile. Default: 8.
  uint32_t depth_max = 8;
  // Longest key an evaluation gives; a longer value evaluates to kTooLong. Default: 256.
  uint32_t key_bytes_max = 256;
};

// What the event provides: its name, its id and its data (a JSON object, as text).
struct KeyEventView {
  std::string_view name;
  std::string_view id;
  std::string_view data_json;
};

struct KeyValue {
  enum class Outcome : uint8_t {
    kKey,        // `key` holds the key
    kAbsent,     // the field is not there (or the data is not a JSON object)
    kNull,       // the field is JSON null
    kNotScalar,  // the field is an object or an array
    kTooLong,    // the value is longer than key_bytes_max
  };
  Outcome outcome = Outcome::kAbsent;
  // kKey only: a string as it is (unescaped), a number in canonical form (integers, and floats
  // with an integral value below 2^53, as integers: 1, 1.0 and 1e0 are all "1"; other floats in
  // their shortest round-trip form), true/false as "true"/"false". A string "1" and a number 1
  // give the same key.
  std::string key;
};

std::string_view key_outcome_name(KeyValue::Outcome outcome);

class KeyExpression {
 public:
  // Forms: "event.name", "event.id", and "data.F1.F2..." (also written "event.data.F1...") with
  // 1 to depth_max fields, each of letters, digits, '_' and '-'. kInvalidArgument says what is
  // wrong and where: `key expression "data..x": empty field name at column 6`.
  static Result<KeyExpression> compile(std::string_view text,
                                       const KeyExpressionOptions& options = {});

  KeyValue evaluate(const KeyEventView& event) const;
  // The same through json_field's parsed tree (slower): what evaluate() must agree with on every
  // valid JSON object (tests and the fuzz target compare the two).
  KeyValue evaluate_by_tree(const KeyEventView& event) const;

  // The text as written, and its normal form ("event.data.a" is "data.a").
  const std::string& text() const { return text_; }
  const std::string& path() const { return path_; }

 private:
  enum class Source : uint8_t { kEventName, kEventId, kData };
  KeyExpression(std::string text, std::string path, Source source, uint32_t key_bytes_max)
      : text_(std::move(text)),
        path_(std::move(path)),
        source_(source),
        key_bytes_max_(key_bytes_max) {}

  std::string text_;
  std::string path_;
  Source source_;
  uint32_t key_bytes_max_;
};

}  // namespace cairn::flow
