// The workload specification (see workload.h).
#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

uint64_t hash_of(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

bool is_flaky(std::string_view step_id) {
  return step_id == "b" || step_id == "d" || step_id == "e" || step_id == "h1";
}

}  // namespace

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b * 0x9e3779b97f4a7c15ull);
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

RunPlan plan_for(uint64_t seed, uint64_t k) {
  const uint64_t h = mix(seed, k);
  RunPlan p;
  p.k = k;
  p.x = mix(h, 0x5eed);
  p.sleep_ms = mix(h, 1) % 3 == 0 ? static_cast<uint32_t>(5 + mix(h, 2) % 26) : 0;
  p.busy_ms = mix(h, 9) % 4 == 0 ? static_cast<uint32_t>(1 + mix(h, 10) % 4) : 0;
  p.wait = mix(h, 3) % 3 == 0;
  p.approve = p.wait && mix(h, 4) % 2 == 0;
  p.invoke = mix(h, 5) % 4 == 0;
  p.compensate = mix(h, 6) % 8 == 0;
  p.emit = mix(h, 7) % 5 == 0;
  p.doomed = mix(h, 8) % 16 == 0;
  return p;
}

std::string start_event_id(uint64_t k) {
  return "start-" + std::to_string(k);
}
std::string key_of(uint64_t k) {
  return "k-" + std::to_string(k);
}

std::string start_event_data(const RunPlan& plan) {
  return nlohmann::json{{"k", plan.k}, {"key", key_of(plan.k)}, {"x", plan.x}}.dump();
}

uint64_t token_of(const RunPlan& plan) {
  return mix(plan.x, 99);
}

std::vector<PlannedOp> main_ops(const RunPlan& p) {
  std::vector<PlannedOp> ops{{"a", OpKind::kStep}, {"b", OpKind::kStep}};
  if (p.sleep_ms != 0) ops.push_back({"nap", OpKind::kSleep});
  ops.push_back({"c", OpKind::kStep});
  if (p.wait) ops.push_back({"approval", OpKind::kWait});
  ops.push_back({"d", OpKind::kStep});
  if (p.invoke) ops.push_back({"sq", OpKind::kInvoke});
  ops.push_back({"e", OpKind::kStep});
  if (p.compensate) ops.push_back({"h", OpKind::kStep});
  if (p.emit) ops.push_back({"emit", OpKind::kSend});
  if (p.doomed) {
    ops.push_back({"g", OpKind::kStep});  // fails the run: nothing after it
    return ops;
  }
  ops.push_back({"f", OpKind::kStep});
  return ops;
}

std::vector<PlannedOp> helper_ops() {
  return {{"h1", OpKind::kStep}, {"h2", OpKind::kStep}};
}
std::vector<PlannedOp> listener_ops() {
  return {{"l1", OpKind::kStep}};
}
std::vector<PlannedOp> failure_handler_ops() {
  return {{"alert", OpKind::kStep}};
}

uint32_t failing_attempts(uint64_t seed, uint64_t k, std::string_view step_id) {
  if (!is_flaky(step_id)) return 0;
  return static_cast<uint32_t>(mix(mix(seed, k), hash_of(step_id)) % 4);
}

StepFate step_fate(uint64_t seed, uint64_t k, std::string_view step_id, uint32_t attempt) {
  if (step_id == "g") return StepFate::kThrows;
  if (step_id == "h") return StepFate::kThrowsNonRetriable;
  return attempt <= failing_attempts(seed, k, step_id) ? StepFate::kThrows : StepFate::kSucceeds;
}

uint64_t alert_value(uint64_t k) {
  return mix(k, 55);
}

uint64_t helper_value(uint64_t y) {
  return mix(mix(y, 10), 11);
}
nlohmann::json helper_output(uint64_t y) {
  return nlohmann::json{{"v", helper_value(y)}};
}
nlohmann::json listener_output(uint64_t k) {
  return nlohmann::json{{"k", k}, {"v", mix(k, 77)}};
}

MainValues main_values(const RunPlan& p, bool approved) {
  MainValues v{};
  v.a = mix(p.x, 1);
  v.b = mix(v.a, 2);
  v.c = mix(v.b, 3);
  v.d = mix(v.c ^ (approved ? token_of(p) : 0), 4);
  v.r = p.invoke ? helper_value(v.d) : 0;
  v.e = mix(v.d + v.r, 5);
  if (p.compensate) v.e = mix(v.e, 0xdead);
  v.f = mix(v.e, 6);
  return v;
}

nlohmann::json main_output(const RunPlan& p, bool approved) {
  return nlohmann::json{{"k", p.k}, {"v", main_values(p, approved).f}, {"approved", approved}};
}

}  // namespace cairn::engine_crash
