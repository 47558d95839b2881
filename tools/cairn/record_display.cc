// Record times and value previews for the tool (see record_display.h).
#include "record_display.h"

#include "utf8_prefix.h"

namespace cairn::tools {
namespace {

using schema::RecordType;

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
