// Maps record type numbers to their FlatBuffers tables: verification and JSON rendering.
#include "cairn/schema/record_schema.h"

#include <flatbuffers/minireflect.h>

#include <nlohmann/json.hpp>
#include <optional>

#include <charconv>
#include <cmath>
#include <cstdio>

namespace cairn::schema {
namespace {

// Everything the helpers need to know about one record type.
struct TypeInfo {
  std::string_view name;
  bool (*verify)(flatbuffers::Verifier&);
  const flatbuffers::TypeTable* (*type_table)();
};

template <typename Table>
bool verify_as(flatbuffers::Verifier& verifier) {
  return verifier.VerifyBuffer<Table>(nullptr);
}

constexpr uint16_t kBlobType = static_cast<uint16_t>(RecordType::Blob);

const TypeInfo* type_info(uint16_t type) {
  static const TypeInfo kEngineTypes[] = {
      {"Invalid", nullptr, nullptr},
      {"EventAccepted", verify_as<EventAccepted>, EventAcceptedTypeTable},
      {"RunCreated", verify_as<RunCreated>, RunCreatedTypeTable},
      {"StepCompleted", verify_as<StepCompleted>, StepCompletedTypeTable},
      {"StepFailed", verify_as<StepFailed>, StepFailedTypeTable},
      {"SleepStarted", verify_as<SleepStarted>, SleepStartedTypeTable},
      {"WaitStarted", verify_as<WaitStarted>, WaitStartedTypeTable},
      {"RunResumed", verify_as<RunResumed>, RunResumedTypeTable},
      {"RunCompleted", verify_as<RunCompleted>, RunCompletedTypeTable},
      {"RunFailed", verify_as<RunFailed>, RunFailedTypeTable},
      {"RunCancelled", verify_as<RunCancelled>, RunCancelledTypeTable},
      {"EventBatch", verify_as<EventBatch>, EventBatchTypeTable},
      {"RunAdmitted", verify_as<RunAdmitted>, RunAdmittedTypeTable},
      {"RunSkipped", verify_as<RunSkipped>, RunSkippedTypeTable},
      {"CronCursor", verify_as<CronCursor>, CronCursorTypeTable},
  };
  static const TypeInfo kBlob = {"Blob", verify_as<Blob>, BlobTypeTable};
  constexpr size_t kEngineCount = sizeof(kEngineTypes) / sizeof(kEngineTypes[0]);
  static_assert(kEngineCount == static_cast<size_t>(RecordType::CronCursor) + 1,
                "every engine record type needs an entry");
  if (type == kBlobType) return &kBlob;
  if (type == 0 || type >= kEngineCount) return nullptr;
  return &kEngineTypes[type];
}

template <typename Enum>
bool in_enum(Enum value) {
  return value >= Enum::MIN && value <= Enum::MAX;
}

// The FlatBuffers verifier checks structure, not enum values. A value this build does not know was
// written by a newer one (or under a valid checksum by mistake): replay would apply it as
// something else, or drop it, so it is refused like a record type this build does not know.
// ValueFormat is exempt: it only says how tools show a value, and an unknown one is shown as bytes.
bool values_known(uint16_t type, std::span<const std::byte> payload) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(payload.data());
  switch (static_cast<RecordType>(type)) {
    case RecordType::StepFailed:
      return in_enum(flatbuffers::GetRoot<StepFailed>(bytes)->kind());
    case RecordType::RunResumed:
      return in_enum(flatbuffers::GetRoot<RunResumed>(bytes)->reason());
    case RecordType::RunCreated: {
      const auto* history = flatbuffers::GetRoot<RunCreated>(bytes)->history();
      if (history == nullptr) return true;
      for (const CopiedOp* op : *history) {
        if (op->kind() < kCopiedOpKindMin || op->kind() > kCopiedOpKindMax) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

}  // namespace

std::string_view record_type_name(uint16_t type) {
  const TypeInfo* info = type_info(type);
  return info == nullptr ? std::string_view() : info->name;
}

bool is_known_record_type(uint16_t type) {
  return type_info(type) != nullptr;
}

bool verify_payload(uint16_t type, std::span<const std::byte> payload) {
  const TypeInfo* info = type_info(type);
  if (info == nullptr) return false;
  // A FlatBuffers buffer holds at least its root offset; the verifier relies on 4-byte alignment.
  if (payload.size() < sizeof(flatbuffers::uoffset_t)) return false;
  if (reinterpret_cast<uintptr_t>(payload.data()) % alignof(flatbuffers::uoffset_t) != 0) {
    return false;
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  return info->verify(verifier) && values_known(type, payload);
}

namespace {

// Appends `s` as a JSON string. Valid UTF-8 is copied; control characters, quotes and backslashes
// are escaped; bytes that are not UTF-8 (FlatBuffers does not check strings) become U+FFFD, so the
// output is always valid JSON.
void append_json_string(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out->append(esc);
      ++i;
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else {
      // The length of a well-formed UTF-8 sequence starting here, or 0.
      size_t len = 0;
      uint32_t cp = 0;
      if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
      else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
      else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
      bool ok = len > 0 && i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        ok = (cc & 0xC0) == 0x80;
        cp = (cp << 6) | (cc & 0x3F);
      }
      ok = ok && !(len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) &&
           !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF));
      if (ok) {
        out->append(s.substr(i, len));
        i += len;
      } else {
        out->append("\\ufffd");
        ++i;
      }
    }
  }
  out->push_back('"');
}

// String fields whose text is a JSON document (records.fbs says so in their comments).
bool holds_json_text(std::string_view field) {
  return field == "data" || field == "event_data" || field == "match_value";
}

// Renders a FlatBuffers table as compact JSON (see payload_to_json): every field, also those
// FlatBuffers did not store; enums as their names; numbers with std::to_chars (no locale, no
// streams).
class JsonVisitor final : public flatbuffers::IterationVisitor {
 public:
  explicit JsonVisitor(std::optional<ValueFormat> root_output_format)
      : root_output_format_(root_output_format) {}

  std::string out;

  void StartSequence() override {
    ++depth_;
    out.push_back('{');
  }
  void EndSequence() override {
    --depth_;
    out.push_back('}');
  }
  void Field(size_t field_idx, size_t, flatbuffers::ElementaryType type, bool is_vector,
             const flatbuffers::TypeTable* ref, const char* name, const uint8_t* val) override {
    const std::string_view field = name != nullptr ? name : "?";
    if (field_idx > 0) out.push_back(',');
    append_json_string(field, &out);
    out.push_back(':');
    // Only the root table's `output` (StepCompleted, RunCompleted) is a recorded value.
    capturing_value_ =
        is_vector && depth_ == 1 && root_output_format_.has_value() && field == "output";
    json_text_ = !is_vector && type == flatbuffers::ET_STRING && holds_json_text(field);
    captured_.clear();
    if (val == nullptr) default_value(type, is_vector, ref);
  }
  void UType(uint8_t x, const char* name) override { named(x, name); }
  void Bool(bool x) override { out.append(x ? "true" : "false"); }
  void Char(int8_t x, const char* name) override { named(x, name); }
  void UChar(uint8_t x, const char* name) override {
    if (capturing_value_) {
      captured_.push_back(static_cast<char>(x));
    } else {
      named(x, name);
    }
  }
  void Short(int16_t x, const char* name) override { named(x, name); }
  void UShort(uint16_t x, const char* name) override { named(x, name); }
  void Int(int32_t x, const char* name) override { named(x, name); }
  void UInt(uint32_t x, const char* name) override { named(x, name); }
  void Long(int64_t x) override { number(x); }
  void ULong(uint64_t x) override { number(x); }
  void Float(float x) override { real(x); }
  void Double(double x) override { real(x); }
  void String(const flatbuffers::String* s) override {
    const std::string_view text(s->c_str(), s->size());
    if (json_text_) {
      out.append(value_to_json(text, ValueFormat::Json));
    } else {
      append_json_string(text, &out);
    }
  }
  void Unknown(const uint8_t*) override { out.append("null"); }  // a newer schema's type
  void StartVector() override {
    if (!capturing_value_) out.push_back('[');
  }
  void EndVector() override {
    if (!capturing_value_) {
      out.push_back(']');
      return;
    }
    out.append(value_to_json(captured_, *root_output_format_));
    capturing_value_ = false;
  }
  void Element(size_t i, flatbuffers::ElementaryType, const flatbuffers::TypeTable*,
               const uint8_t*) override {
    if (i > 0 && !capturing_value_) out.push_back(',');
  }

 private:
  // What a reader of the table gets for a field FlatBuffers did not store.
  void default_value(flatbuffers::ElementaryType type, bool is_vector,
                     const flatbuffers::TypeTable* ref) {
    if (is_vector) {
      out.append(capturing_value_ ? "null" : "[]");  // an output of no bytes is null
      capturing_value_ = false;
      return;
    }
    switch (type) {
      case flatbuffers::ET_BOOL:
        out.append("false");
        return;
      case flatbuffers::ET_STRING:
        out.append(json_text_ ? "null" : "\"\"");
        return;
      case flatbuffers::ET_SEQUENCE:
        out.append("null");  // a table that is not set
        return;
      case flatbuffers::ET_FLOAT:
      case flatbuffers::ET_DOUBLE:
      case flatbuffers::ET_LONG:
      case flatbuffers::ET_ULONG:
        out.push_back('0');
        return;
      default:  // the smaller integers, which may be enums
        named(0, flatbuffers::EnumName(0, ref));
        return;
    }
  }
  template <typename T>
  void number(T x) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, end);
  }
  template <typename T>
  void named(T x, const char* name) {
    if (name != nullptr) {
      append_json_string(name, &out);
    } else {
      number(x);
    }
  }
  void real(double x) {
    if (!std::isfinite(x)) {
      out.append("null");  // JSON has no NaN or infinity
      return;
    }
    number(x);
  }

  const std::optional<ValueFormat> root_output_format_;
  int depth_ = 0;
  bool capturing_value_ = false;
  bool json_text_ = false;
  std::string captured_;
};

}  // namespace

bool json_nests_deeper_than(std::string_view text, size_t max) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::string value_to_json(std::string_view bytes, ValueFormat format) {
  std::string out;
  if (bytes.empty()) return "null";
  // nlohmann's dump recurses once per level: a value nested deeper than kJsonDepthMax (valid
  // JSON, which the engine accepts) would overflow the stack, so it is shown as a string.
  if (format == ValueFormat::Json && !json_nests_deeper_than(bytes, kJsonDepthMax) &&
      nlohmann::json::accept(bytes)) {
    // Compact it: a dump is one line whatever the value's own layout.
    return nlohmann::json::parse(bytes).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
  }
  if (format == ValueFormat::Text || format == ValueFormat::Json) {
    append_json_string(bytes, &out);
    return out;
  }
  out.push_back('[');
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out.push_back(',');
    char buf[4];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<uint8_t>(bytes[i]));
    out.append(buf, end);
  }
  out.push_back(']');
  return out;
}

std::string payload_to_json(uint16_t type, std::span<const std::byte> payload) {
  const TypeInfo* info = type_info(type);
  if (info == nullptr || payload.empty()) return "null";
  const uint8_t* root = reinterpret_cast<const uint8_t*>(payload.data());
  std::optional<ValueFormat> output_format;
  if (type == static_cast<uint16_t>(RecordType::StepCompleted)) {
    output_format = flatbuffers::GetRoot<StepCompleted>(root)->output_format();
  } else if (type == static_cast<uint16_t>(RecordType::RunCompleted)) {
    output_format = flatbuffers::GetRoot<RunCompleted>(root)->output_format();
  }
  JsonVisitor visitor(output_format);
  flatbuffers::IterateFlatBuffer(root, info->type_table(), &visitor);
  return std::move(visitor.out);
}

}  // namespace cairn::schema
