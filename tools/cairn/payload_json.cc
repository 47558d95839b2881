// Rendering payloads and recorded values for the tool (see payload_json.h).
#include "payload_json.h"

#include <flatbuffers/minireflect.h>

#include <charconv>
#include <cmath>

#include "utf8_prefix.h"

namespace cairn::tools {
namespace {

using schema::RecordType;

// The table of each engine record type, or null for one this build of the tool does not know.
const flatbuffers::TypeTable* type_table(uint16_t type) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::EventAccepted:
      return schema::EventAcceptedTypeTable();
    case RecordType::RunCreated:
      return schema::RunCreatedTypeTable();
    case RecordType::StepCompleted:
      return schema::StepCompletedTypeTable();
    case RecordType::StepFailed:
      return schema::StepFailedTypeTable();
    case RecordType::SleepStarted:
      return schema::SleepStartedTypeTable();
    case RecordType::WaitStarted:
      return schema::WaitStartedTypeTable();
    case RecordType::RunResumed:
      return schema::RunResumedTypeTable();
    case RecordType::RunCompleted:
      return schema::RunCompletedTypeTable();
    case RecordType::RunFailed:
      return schema::RunFailedTypeTable();
    case RecordType::RunCancelled:
      return schema::RunCancelledTypeTable();
    case RecordType::EventBatch:
      return schema::EventBatchTypeTable();
    case RecordType::RunAdmitted:
      return schema::RunAdmittedTypeTable();
    case RecordType::RunSkipped:
      return schema::RunSkippedTypeTable();
    case RecordType::CronCursor:
      return schema::CronCursorTypeTable();
    case RecordType::Blob:
      return schema::BlobTypeTable();
    default:
      return nullptr;
  }
}

// String fields whose text is a JSON document (records.fbs says so in their comments).
bool holds_json_text(std::string_view field) {
  return field == "data" || field == "event_data" || field == "match_value";
}

std::string quoted_text(std::string_view s) {
  return schema::value_to_json(s, schema::ValueFormat::Text);
}

// Every field of every table, present or not (see payload_json.h). Numbers with std::to_chars.
class CompleteJsonVisitor final : public flatbuffers::IterationVisitor {
 public:
  explicit CompleteJsonVisitor(std::optional<schema::ValueFormat> root_output_format)
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
    out.append(quoted_text(field));
    out.push_back(':');
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
      out.append(schema::value_to_json(text, schema::ValueFormat::Json));
    } else {
      out.append(quoted_text(text));
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
    out.append(value_json(captured_, *root_output_format_));
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
      out.append(quoted_text(name));
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

  const std::optional<schema::ValueFormat> root_output_format_;
  int depth_ = 0;
  bool capturing_value_ = false;
  bool json_text_ = false;
  std::string captured_;
};

template <typename Table>
const Table& root(std::span<const std::byte> payload) {
  return *flatbuffers::GetRoot<Table>(reinterpret_cast<const uint8_t*>(payload.data()));
}

std::optional<int64_t> nonzero(int64_t us) {
  return us == 0 ? std::nullopt : std::optional<int64_t>(us);
}

std::string cut(std::string text, size_t value_bytes, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  std::string out(utf8_prefix(text, max_chars));
  out += "… (" + std::to_string(value_bytes) + " bytes)";
  return out;
}

}  // namespace

std::string payload_json(uint16_t type, std::span<const std::byte> payload) {
  const flatbuffers::TypeTable* table = type_table(type);
  if (table == nullptr || payload.empty()) return schema::payload_to_json(type, payload);
  std::optional<schema::ValueFormat> output_format;
  if (type == static_cast<uint16_t>(RecordType::StepCompleted)) {
    output_format = root<schema::StepCompleted>(payload).output_format();
  } else if (type == static_cast<uint16_t>(RecordType::RunCompleted)) {
    output_format = root<schema::RunCompleted>(payload).output_format();
  }
  CompleteJsonVisitor visitor(output_format);
  flatbuffers::IterateFlatBuffer(reinterpret_cast<const uint8_t*>(payload.data()), table, &visitor);
  return std::move(visitor.out);
}

std::optional<int64_t> record_time_us(uint16_t type, std::span<const std::byte> payload) {
  if (payload.empty()) return std::nullopt;
  switch (static_cast<RecordType>(type)) {
    case RecordType::EventAccepted:
      return nonzero(root<schema::EventAccepted>(payload).accepted_us());
    case RecordType::EventBatch: {
      const auto* events = root<schema::EventBatch>(payload).events();
      if (events == nullptr || events->size() == 0) return std::nullopt;
      return nonzero(events->Get(0)->accepted_us());  // one send accepted them all at once
    }
    case RecordType::RunCreated:
      return nonzero(root<schema::RunCreated>(payload).created_us());
    case RecordType::StepCompleted:
      return nonzero(root<schema::StepCompleted>(payload).finished_us());
    case RecordType::StepFailed:
      return nonzero(root<schema::StepFailed>(payload).finished_us());
    case RecordType::SleepStarted:
      return nonzero(root<schema::SleepStarted>(payload).at_us());
    case RecordType::WaitStarted:
      return nonzero(root<schema::WaitStarted>(payload).at_us());
    case RecordType::RunResumed:
      return nonzero(root<schema::RunResumed>(payload).at_us());
    case RecordType::RunCompleted:
      return nonzero(root<schema::RunCompleted>(payload).at_us());
    case RecordType::RunFailed:
      return nonzero(root<schema::RunFailed>(payload).at_us());
    case RecordType::RunCancelled:
      return nonzero(root<schema::RunCancelled>(payload).at_us());
    case RecordType::RunSkipped:
      return nonzero(root<schema::RunSkipped>(payload).at_us());
    case RecordType::CronCursor:
      return nonzero(root<schema::CronCursor>(payload).at_us());
    default:
      return std::nullopt;
  }
}

std::string value_json(std::string_view bytes, schema::ValueFormat format) {
  return schema::value_to_json(bytes, format);
}

std::string value_preview(std::string_view bytes, schema::ValueFormat format, size_t max_chars) {
  // Render at most what can show (plus a little, to know it was cut): a step's output may be
  // half a megabyte, and only its start is printed.
  const size_t keep = max_chars + 16;
  if (format == schema::ValueFormat::Bytes && bytes.size() > keep) {
    return cut(value_json(bytes.substr(0, keep), format), bytes.size(), max_chars);
  }
  return cut(value_json(bytes, format), bytes.size(), max_chars);
}

std::string text_preview(std::string_view text, size_t max_chars) {
  std::string one_line(utf8_prefix(text, max_chars + 16));
  for (char& c : one_line) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() <= max_chars) return one_line;
  std::string out(utf8_prefix(one_line, max_chars));
  out += "… (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace cairn::tools
