// Maps record type numbers to their FlatBuffers tables: verification and JSON rendering.
#include "cairn/schema/record_schema.h"

#include <flatbuffers/minireflect.h>

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
  };
  static const TypeInfo kBlob = {"Blob", verify_as<Blob>, BlobTypeTable};
  constexpr size_t kEngineCount = sizeof(kEngineTypes) / sizeof(kEngineTypes[0]);
  static_assert(kEngineCount == static_cast<size_t>(RecordType::RunCancelled) + 1,
                "every engine record type needs an entry");
  if (type == kBlobType) return &kBlob;
  if (type == 0 || type >= kEngineCount) return nullptr;
  return &kEngineTypes[type];
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
  return info->verify(verifier);
}

std::string payload_to_json(uint16_t type, std::span<const std::byte> payload) {
  const TypeInfo* info = type_info(type);
  if (info == nullptr || payload.empty()) return "null";
  flatbuffers::ToStringVisitor visitor(" ", /*quotes=*/true, "", /*vdelimited=*/true);
  flatbuffers::IterateFlatBuffer(reinterpret_cast<const uint8_t*>(payload.data()),
                                 info->type_table(), &visitor);
  return visitor.s;
}

}  // namespace cairn::schema
