// schema::verify_payload refuses a value of an enum field this build does not know (a newer
// version's): replay would apply the record as something else, or drop it. A ValueFormat it does
// not know passes: tools show the value as bytes.
#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "cairn/schema/record_schema.h"

namespace cairn::testing {
namespace {

std::span<const std::byte> bytes_of(const flatbuffers::FlatBufferBuilder& fbb) {
  return {reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

constexpr uint16_t type_of(schema::RecordType t) {
  return static_cast<uint16_t>(t);
}

bool step_failed_verifies(uint8_t kind) {
  flatbuffers::FlatBufferBuilder fbb;
  auto ref = schema::CreateStepRef(fbb, 1, 0, fbb.CreateString("s"));
  fbb.Finish(schema::CreateStepFailed(fbb, ref, 1, static_cast<schema::FailureKind>(kind),
                                      fbb.CreateString("boom"), 0, 10, 20));
  return schema::verify_payload(type_of(schema::RecordType::StepFailed), bytes_of(fbb));
}

bool run_resumed_verifies(uint8_t reason) {
  flatbuffers::FlatBufferBuilder fbb;
  auto ref = schema::CreateStepRef(fbb, 1, 0, fbb.CreateString("s"));
  fbb.Finish(schema::CreateRunResumed(fbb, ref, static_cast<schema::ResumeReason>(reason), 30));
  return schema::verify_payload(type_of(schema::RecordType::RunResumed), bytes_of(fbb));
}

// A replay's RunCreated whose copied results have these kinds.
bool run_created_verifies(const std::vector<uint8_t>& kinds) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<schema::CopiedOp>> ops;
  for (uint8_t kind : kinds) {
    ops.push_back(schema::CreateCopiedOp(fbb, kind, fbb.CreateString("s")));
  }
  const auto history = fbb.CreateVector(ops);
  schema::RunCreatedBuilder b(fbb);
  b.add_run_id(2);
  b.add_replay_of(1);
  b.add_history(history);
  fbb.Finish(b.Finish());
  return schema::verify_payload(type_of(schema::RecordType::RunCreated), bytes_of(fbb));
}

TEST(RecordValues, AStepFailureOfAKindThisVersionDoesNotKnowIsRefused) {
  for (int kind = 0; kind <= static_cast<int>(schema::FailureKind::MAX); ++kind) {
    EXPECT_TRUE(step_failed_verifies(static_cast<uint8_t>(kind))) << kind;
  }
  EXPECT_FALSE(step_failed_verifies(static_cast<uint8_t>(schema::FailureKind::MAX) + 1));
  EXPECT_FALSE(step_failed_verifies(255));
}

TEST(RecordValues, AResumeReasonThisVersionDoesNotKnowIsRefused) {
  for (int reason = 0; reason <= static_cast<int>(schema::ResumeReason::MAX); ++reason) {
    EXPECT_TRUE(run_resumed_verifies(static_cast<uint8_t>(reason))) << reason;
  }
  EXPECT_FALSE(run_resumed_verifies(static_cast<uint8_t>(schema::ResumeReason::MAX) + 1));
  EXPECT_FALSE(run_resumed_verifies(255));
}

TEST(RecordValues, ACopiedResultOfAKindThisVersionDoesNotKnowIsRefused) {
  EXPECT_TRUE(run_created_verifies({}));
  EXPECT_TRUE(run_created_verifies({1, 2, 3, 4, 5}));
  EXPECT_FALSE(run_created_verifies({1, 0}));  // 0 is no kind: a step is 1
  EXPECT_FALSE(run_created_verifies({1, 2, 6}));
  EXPECT_FALSE(run_created_verifies({255}));
}

TEST(RecordValues, AValueFormatThisVersionDoesNotKnowPasses) {
  flatbuffers::FlatBufferBuilder fbb;
  const std::vector<uint8_t> output = {'o', 'u', 't'};
  fbb.Finish(schema::CreateRunCompleted(fbb, 1, fbb.CreateVector(output),
                                        static_cast<schema::ValueFormat>(7), 30));
  EXPECT_TRUE(schema::verify_payload(type_of(schema::RecordType::RunCompleted), bytes_of(fbb)));
}

}  // namespace
}  // namespace cairn::testing
