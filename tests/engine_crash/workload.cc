// The workload specification (see workload.h).
#include "engine_crash/workload.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

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

uint64_t flow_bursts(uint64_t target_runs) {
  return std::max<uint64_t>(1, target_runs / kJobsPerFlowBurst);
}

FlowBurst flow_burst(uint64_t seed, uint64_t g) {
  const uint64_t h = mix(mix(seed, 0xf10f), g);
  FlowBurst b;
  b.g = g;
  b.paced = mix(h, 1) % 2 == 0;
  b.key = static_cast<uint32_t>(mix(h, 2) % kFlowKeys);
  b.size = 1 + static_cast<uint32_t>(mix(h, 3) % (b.paced ? kPacedBurstMax : kMeteredBurstMax));
  return b;
}

std::string flow_event_id(uint64_t g, uint32_t j) {
  return "flow-" + std::to_string(g) + "-" + std::to_string(j);
}

std::optional<std::pair<uint64_t, uint32_t>> parse_flow_event_id(std::string_view id) {
  constexpr std::string_view kPrefix = "flow-";
  if (!id.starts_with(kPrefix)) return std::nullopt;
  const std::string rest(id.substr(kPrefix.size()));
  char* end = nullptr;
  const uint64_t g = std::strtoull(rest.c_str(), &end, 10);
  if (end == rest.c_str() || *end != '-') return std::nullopt;
  const char* j_text = end + 1;
  const uint64_t j = std::strtoull(j_text, &end, 10);
  if (end == j_text || *end != '\0' || j > UINT32_MAX) return std::nullopt;
  return std::pair{g, static_cast<uint32_t>(j)};
}

std::string_view flow_event_name(const FlowBurst& burst) {
  return burst.paced ? kPacedEvent : kMeteredEvent;
}
std::string_view flow_function(const FlowBurst& burst) {
  return burst.paced ? "paced" : "metered";
}
std::string_view flow_step(const FlowBurst& burst) {
  return burst.paced ? "p1" : "m1";
}

std::string flow_event_data(uint64_t seed, const FlowBurst& burst, uint32_t j) {
  nlohmann::json data{{"g", burst.g}, {"j", j}};
  if (burst.key != 0) {
    // The same key as a number or as a string, event by event: the engine must count both alike.
    if (mix(mix(seed, burst.g), j) % 2 == 0) {
      data["k"] = burst.key;
    } else {
      data["k"] = std::to_string(burst.key);
    }
  }
  return data.dump();
}

std::string flow_key_text(const FlowBurst& burst) {
  return burst.key == 0 ? std::string() : std::to_string(burst.key);
}

uint64_t flow_value(uint64_t g, uint32_t j) {
  return mix(mix(g, 0xf1), j);
}
nlohmann::json flow_output(uint64_t g, uint32_t j) {
  return nlohmann::json{{"g", g}, {"j", j}, {"v", flow_value(g, j)}};
}

}  // namespace cairn::engine_crash
