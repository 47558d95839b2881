// Fuzz target for key expressions (engine/src/flow/key_expression.h): the input's first line is
// the expression, the rest the event's data. Whatever compiles is evaluated against that data and
// against a fixed document, and the outcome must keep its promises (a key only for kKey, within
// key_bytes_max), and the text scanner must give what the parsed tree gives.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flow/key_expression.h"
#include "json_field.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

constexpr std::string_view kDocument =
    R"({"customer_id":"C-1","n":1.0,"a":{"b":{"c":[1,2]},"x":null},"t":true,"s":"\u00e9"})";

void check(const cairn::flow::KeyExpression& e, std::string_view data) {
  using Outcome = cairn::flow::KeyValue::Outcome;
  const cairn::flow::KeyValue v =
      e.evaluate({.name = "fuzz/event", .id = "id-1", .data_json = data});
  if (v.outcome == Outcome::kKey) {
    require(v.key.size() <= 64);
  } else {
    require(v.key.empty());
    require(!cairn::flow::key_outcome_name(v.outcome).empty());
  }
  // The scanner and the parsed tree agree on every valid JSON object.
  if (cairn::detail::is_json_object(data)) {
    const cairn::flow::KeyValue t =
        e.evaluate_by_tree({.name = "fuzz/event", .id = "id-1", .data_json = data});
    require(t.outcome == v.outcome && t.key == v.key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view expr = input.substr(0, newline);
  const std::string_view doc =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  cairn::Result<cairn::flow::KeyExpression> e =
      cairn::flow::KeyExpression::compile(expr, {.depth_max = 6, .key_bytes_max = 64});
  if (!e.ok()) {
    require(!e.status().message().empty());
    return 0;
  }
  require(e->path().starts_with("data.") || e->path().starts_with("event."));
  check(*e, doc);
  check(*e, kDocument);
  return 0;
}
