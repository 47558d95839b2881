// Sample payloads of every record type (see sample_records.h).
#include "sample_records.h"

#include <flatbuffers/flatbuffers.h>

#include "cairn/schema/record_schema.h"

namespace cairn::testing {
namespace {

namespace fb = flatbuffers;
using namespace cairn::schema;  // NOLINT: the generated Create* functions

template <typename T>
SampleRecord finish(fb::FlatBufferBuilder& fbb, fb::Offset<T> root, RecordType type) {
  fbb.Finish(root);
  const auto* p = reinterpret_cast<const std::byte*>(fbb.GetBufferPointer());
  const auto id = static_cast<log::RecordType>(type);
  return SampleRecord{id, std::string(record_type_name(id)),
                      std::vector<std::byte>(p, p + fbb.GetSize())};
}

}  // namespace

std::string tricky_text() {
  return std::string(
      "quote\" backslash\\ slash/ newline\n tab\t cr\r ctl\x01\x1f del\x7f "
      "e-acute \xc3\xa9 euro \xe2\x82\xac rock \xf0\x9f\xaa\xa8 json {\"k\":[1]}");
}

std::vector<SampleRecord> sample_record_of_each_type(const std::string& text, bool empty_vectors) {
  const std::vector<uint8_t> bytes =
      empty_vectors ? std::vector<uint8_t>{} : std::vector<uint8_t>{0, 1, 127, 128, 255};
  std::vector<SampleRecord> out;
  auto step_ref = [&](fb::FlatBufferBuilder& fbb) {
    return CreateStepRef(fbb, 42, 3, fbb.CreateString(text));
  };
  {
    fb::FlatBufferBuilder fbb;
    auto origin = step_ref(fbb);
    auto functions = fbb.CreateVector(
        std::vector<fb::Offset<fb::String>>{fbb.CreateString(text), fbb.CreateString("fn-2")});
    out.push_back(
        finish(fbb,
               CreateEventAccepted(fbb, fbb.CreateString(text), fbb.CreateString(text),
                                   fbb.CreateString(text), -5, 1000, functions, origin, true),
               RecordType::EventAccepted));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto parent = step_ref(fbb);
    out.push_back(finish(fbb,
                         CreateRunCreated(fbb, 7, fbb.CreateString(text), fbb.CreateString(text),
                                          fbb.CreateString(text), 1700000000000, parent),
                         RecordType::RunCreated));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto step = step_ref(fbb);
    out.push_back(finish(fbb, CreateStepCompleted(fbb, step, 1, fbb.CreateVector(bytes)),
                         RecordType::StepCompleted));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto step = step_ref(fbb);
    out.push_back(finish(
        fbb, CreateStepFailed(fbb, step, 2, FailureKind::NonRetriable, fbb.CreateString(text), 123),
        RecordType::StepFailed));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto step = step_ref(fbb);
    out.push_back(
        finish(fbb, CreateSleepStarted(fbb, step, 1700000000001), RecordType::SleepStarted));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto step = step_ref(fbb);
    out.push_back(finish(fbb,
                         CreateWaitStarted(fbb, step, fbb.CreateString(text),
                                           fbb.CreateString(text), fbb.CreateString(text), 99),
                         RecordType::WaitStarted));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto step = step_ref(fbb);
    out.push_back(
        finish(fbb, CreateRunResumed(fbb, step, ResumeReason::RetryDue), RecordType::RunResumed));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(
        finish(fbb, CreateRunCompleted(fbb, 8, fbb.CreateVector(bytes)), RecordType::RunCompleted));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(
        finish(fbb, CreateRunFailed(fbb, 9, fbb.CreateString(text), 10), RecordType::RunFailed));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(
        finish(fbb, CreateRunCancelled(fbb, 11, fbb.CreateString(text)), RecordType::RunCancelled));
  }
  {
    fb::FlatBufferBuilder fbb;
    auto functions = fbb.CreateVector(std::vector<fb::Offset<fb::String>>{fbb.CreateString(text)});
    auto first = CreateEventAccepted(fbb, fbb.CreateString(text), fbb.CreateString(text),
                                     fbb.CreateString(text), 7, 20, functions);
    auto second = CreateEventAccepted(fbb, fbb.CreateString("e-2"), fbb.CreateString("n"),
                                      fbb.CreateString("{}"), 8, 0);
    const std::vector<fb::Offset<EventAccepted>> events =
        empty_vectors ? std::vector<fb::Offset<EventAccepted>>{}
                      : std::vector<fb::Offset<EventAccepted>>{first, second};
    out.push_back(
        finish(fbb, CreateEventBatch(fbb, fbb.CreateVector(events)), RecordType::EventBatch));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(finish(fbb,
                         CreateRunAdmitted(fbb, 14, 15, fbb.CreateString(text),
                                           fbb.CreateString(text), true, true, 16),
                         RecordType::RunAdmitted));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(finish(fbb,
                         CreateRunSkipped(fbb, 16, fbb.CreateString(text), fbb.CreateString(text)),
                         RecordType::RunSkipped));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(finish(fbb,
                         CreateCronCursor(fbb, fbb.CreateString(text), fbb.CreateString(text),
                                          1700000000000, 17, 18),
                         RecordType::CronCursor));
  }
  {
    fb::FlatBufferBuilder fbb;
    out.push_back(finish(fbb, CreateBlob(fbb, 12, 13, fbb.CreateVector(bytes)), RecordType::Blob));
  }
  return out;
}

}  // namespace cairn::testing
