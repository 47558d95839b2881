// KeyExpression (see key_expression.h): the compile-time checks, and turning the canonical JSON
// text json_field gives into a key.
#include "flow/key_expression.h"

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/log/check.h"
#include "json_field.h"

namespace cairn::flow {
namespace key_expr {

bool is_field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
  }
  return std::string("'") + c + "'";
}

Status invalid(std::string_view text, const std::string& reason) {
  // The text is shown only when printable and short: it is user input.
  std::string shown;
  for (char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    shown += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (text.size() > 64) shown += "...";
  return Status(StatusCode::kInvalidArgument, "key expression \"" + shown + "\": " + reason);
}

struct Field {
  std::string_view name;
  size_t column;  // 1-based
};

// Splits on '.', checking each field's characters; an error names the column.
Result<std::vector<Field>> split_fields(std::string_view text) {
  std::vector<Field> fields;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '.') {
      if (!is_field_char(text[i])) {
        return invalid(text, show_char(text[i]) + " at column " + std::to_string(i + 1) +
                                 " is not allowed (field names hold letters, digits, '_' and "
                                 "'-')");
      }
      continue;
    }
    if (i == start) {
      return invalid(text, "empty field name at column " + std::to_string(i + 1));
    }
    fields.push_back({text.substr(start, i - start), start + 1});
    start = i + 1;
  }
  return fields;
}

// 2^53: below it every integer is exactly a double, so an integral float prints as an integer.
constexpr double kExactIntegerLimit = 9007199254740992.0;

// The key of a JSON number as json_field printed it.
std::string canonical_number(const std::string& text) {
  if (text.find_first_of(".eE") == std::string::npos) return text;  // an integer already
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return text;
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < kExactIntegerLimit) {
    return std::to_string(static_cast<int64_t>(v));  // -0.0 is "0"
  }
  return text;
}

KeyValue of_json_text(const std::string& text) {
  KeyValue out;
  CAIRN_CHECK(!text.empty());
  switch (text[0]) {
    case '{':
    case '[':
      out.outcome = KeyValue::Outcome::kNotScalar;
      return out;
    case 'n':
      out.outcome = KeyValue::Outcome::kNull;
      return out;
    case '"': {
      const nlohmann::json s = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      CAIRN_CHECK(s.is_string());  // json_field printed it
      out.key = s.get<std::string>();
      break;
    }
    case 't':
    case 'f':
      out.key = text;
      break;
    default:
      out.key = canonical_number(text);
  }
  out.outcome = KeyValue::Outcome::kKey;
  return out;
}

}  // namespace key_expr

KeyValue KeyExpression::evaluate_by_tree(const KeyEventView& event) const {
  if (source_ != Source::kData) return evaluate(event);
  KeyValue out;
  const std::optional<std::string> text = detail::json_field(event.data_json, path_);
  if (!text) return out;
  out = key_expr::of_json_text(*text);
  if (out.outcome == KeyValue::Outcome::kKey && out.key.size() > key_bytes_max_) {
    out.outcome = KeyValue::Outcome::kTooLong;
    out.key.clear();
  }
  return out;
}

std::string_view key_outcome_name(KeyValue::Outcome outcome) {
  switch (outcome) {
    case KeyValue::Outcome::kKey:
      return "key";
    case KeyValue::Outcome::kAbsent:
      return "absent";
    case KeyValue::Outcome::kNull:
      return "null";
    case KeyValue::Outcome::kNotScalar:
      return "not a scalar";
    case KeyValue::Outcome::kTooLong:
      return "too long";
  }
  return "unknown";
}

Result<KeyExpression> KeyExpression::compile(std::string_view text,
                                             const KeyExpressionOptions& options) {
  using namespace key_expr;
  if (text.empty()) return invalid(text, "it is empty");
  if (text.size() > options.expression_bytes_max) {
    return invalid(text, std::to_string(text.size()) + " bytes is longer than " +
                             "expression_bytes_max (" +
                             std::to_string(options.expression_bytes_max) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<Field> fields, split_fields(text));
  CAIRN_CHECK(!fields.empty());
  size_t first_data_field = 0;  // index of the first field below `data`
  if (fields[0].name == "event") {
    if (fields.size() == 2 && (fields[1].name == "name" || fields[1].name == "id")) {
      const Source source = fields[1].name == "name" ? Source::kEventName : Source::kEventId;
      return KeyExpression(std::string(text), std::string(text), source, options.key_bytes_max);
    }
    if (fields.size() < 2 || fields[1].name != "data") {
      const size_t column = fields.size() < 2 ? text.size() + 1 : fields[1].column;
      return invalid(
          text, "after \"event.\" comes name, id or data (column " + std::to_string(column) + ")");
    }
    first_data_field = 2;
  } else if (fields[0].name == "data") {
    first_data_field = 1;
  } else {
    return invalid(text, "it must start with \"data.\" or \"event.\"");
  }
  const size_t depth = fields.size() - first_data_field;
  if (depth == 0) return invalid(text, "it names the whole data object, not a field of it");
  if (depth > options.depth_max) {
    return invalid(text, std::to_string(depth) + " fields below data is deeper than depth_max (" +
                             std::to_string(options.depth_max) + ")");
  }
  std::string path = "data";
  for (size_t i = first_data_field; i < fields.size(); ++i) {
    path += '.';
    path.append(fields[i].name);
  }
  return KeyExpression(std::string(text), std::move(path), Source::kData, options.key_bytes_max);
}

KeyValue KeyExpression::evaluate(const KeyEventView& event) const {
  KeyValue out;
  switch (source_) {
    case Source::kEventName:
      out.key = std::string(event.name);
      out.outcome = KeyValue::Outcome::kKey;
      break;
    case Source::kEventId:
      out.key = std::string(event.id);
      out.outcome = KeyValue::Outcome::kKey;
      break;
    case Source::kData: {
      // The scanner finds the value's text without building a tree; a plain string is the key as
      // it is, anything else is made canonical first. When the scanner finds nothing (absent, or
      // a name written with escapes) json_field decides.
      const std::optional<std::string_view> raw = detail::json_field_text(event.data_json, path_);
      if (raw && raw->size() >= 2 && raw->front() == '"' && raw->back() == '"' &&
          raw->find('\\') == std::string_view::npos) {
        out.key.assign(raw->substr(1, raw->size() - 2));
        out.outcome = KeyValue::Outcome::kKey;
        break;
      }
      const std::optional<std::string> text =
          raw ? detail::canonical_json(*raw) : detail::json_field(event.data_json, path_);
      if (!text) return out;  // kAbsent
      out = key_expr::of_json_text(*text);
    }
  }
  if (out.outcome == KeyValue::Outcome::kKey && out.key.size() > key_bytes_max_) {
    out.outcome = KeyValue::Outcome::kTooLong;
    out.key.clear();
  }
  return out;
}

}  // namespace cairn::flow
