// The guarded functions' specification (see guard_workload.h).
#include "engine_crash/guard_workload.h"

#include <algorithm>
#include <cstdlib>

#include "engine_crash/workload.h"

namespace cairn::engine_crash {
namespace {

uint64_t kind_salt(GuardKind kind) {
  return 0x9a00 + static_cast<uint64_t>(kind);
}

}  // namespace

uint64_t guard_bursts(uint64_t target_runs) {
  return std::max<uint64_t>(1, target_runs / kJobsPerGuardBurst);
}

GuardBurst guard_burst(uint64_t seed, GuardKind kind, uint64_t g) {
  const uint64_t h = mix(mix(seed, kind_salt(kind)), g);
  GuardBurst b;
  b.kind = kind;
  b.g = g;
  switch (kind) {
    case GuardKind::kOnce:
      b.size = 1 + static_cast<uint32_t>(mix(h, 1) % kOnceBurstMax);
      break;
    case GuardKind::kSolo:
    case GuardKind::kLatest:
      b.size = 1 + static_cast<uint32_t>(mix(h, 1) % kSingletonBurstMax);
      b.key = static_cast<uint32_t>(mix(h, 2) % kSingletonKeys);
      break;
    case GuardKind::kCancellable:
      b.size = kCancellableBurst;
      break;
    case GuardKind::kRanked:
      b.size = kRankedBurstMin +
               static_cast<uint32_t>(mix(h, 1) % (kRankedBurstMax - kRankedBurstMin + 1));
      break;
  }
  return b;
}

std::vector<GuardBurst> guard_bursts_of(uint64_t seed, GuardKind kind, uint64_t target_runs) {
  std::vector<GuardBurst> out;
  for (uint64_t g = 1; g <= guard_bursts(target_runs); ++g)
    out.push_back(guard_burst(seed, kind, g));
  return out;
}

std::string_view guard_function(GuardKind kind) {
  switch (kind) {
    case GuardKind::kOnce:
      return kOnceFunction;
    case GuardKind::kSolo:
      return kSoloFunction;
    case GuardKind::kLatest:
      return kLatestFunction;
    case GuardKind::kCancellable:
      return kCancellableFunction;
    case GuardKind::kRanked:
      return kRankedFunction;
  }
  return "";
}

std::string guard_event_id(GuardKind kind, uint64_t g, uint32_t j) {
  return std::string(guard_function(kind)) + "-" + std::to_string(g) + "-" + std::to_string(j);
}

std::string guard_key(const GuardBurst& burst, uint32_t j) {
  switch (burst.kind) {
    case GuardKind::kOnce:
      return "i" + std::to_string((burst.g - 1) / kOnceBurstsPerKey);
    case GuardKind::kSolo:
      return "s" + std::to_string(burst.key);
    case GuardKind::kLatest:
      return "l" + std::to_string(burst.key);
    case GuardKind::kCancellable:
      return "c" + std::to_string(burst.g) + "-" + std::to_string(j);
    case GuardKind::kRanked:
      return "";
  }
  return "";
}

int ranked_priority(uint64_t seed, uint64_t g, uint32_t j) {
  return static_cast<int>(mix(mix(mix(seed, 0x9a9), g), j) % 5) - 2;
}

nlohmann::json guard_event_data(uint64_t seed, const GuardBurst& burst, uint32_t j) {
  if (burst.kind == GuardKind::kRanked) {
    return nlohmann::json{{"g", burst.g}, {"j", j}, {"p", ranked_priority(seed, burst.g, j)}};
  }
  return nlohmann::json{{"g", burst.g}, {"j", j}, {"key", guard_key(burst, j)}};
}

bool halted(uint64_t seed, uint64_t g, uint32_t j) {
  return mix(mix(mix(seed, 0x4a17), g), j) % 2 == 0;
}

std::string halt_event_id(uint64_t g, uint32_t j) {
  return std::string(kHaltEvent) + "-" + std::to_string(g) + "-" + std::to_string(j);
}

nlohmann::json halt_event_data(uint64_t g, uint32_t j) {
  const uint32_t run = j == kEarlyHaltJ ? 1 : j;  // the early halt names run 1's key
  return nlohmann::json{{"key", "c" + std::to_string(g) + "-" + std::to_string(run)}};
}

std::vector<std::pair<uint64_t, uint32_t>> halts_sent_with(uint64_t seed, uint64_t g,
                                                           uint64_t bursts) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  if (g >= 2 && g - 1 <= bursts) {
    for (uint32_t j = 0; j < kCancellableBurst; ++j) {
      if (halted(seed, g - 1, j)) out.emplace_back(g - 1, j);
    }
  }
  if (g <= bursts) out.emplace_back(g, kEarlyHaltJ);
  return out;
}

std::optional<GuardEventRef> parse_guard_event_id(std::string_view id) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view name = id.substr(0, dash);
  GuardEventRef ref;
  if (name != kHaltEvent) {
    for (GuardKind k : kGuardKinds) {
      if (guard_function(k) == name) ref.kind = k;
    }
    if (!ref.kind) return std::nullopt;
  }
  const std::string rest(id.substr(dash + 1));
  char* end = nullptr;
  ref.g = std::strtoull(rest.c_str(), &end, 10);
  if (end == rest.c_str() || *end != '-') return std::nullopt;
  const char* jp = end + 1;
  const uint64_t j = std::strtoull(jp, &end, 10);
  if (end == jp || *end != '\0' || j > UINT32_MAX) return std::nullopt;
  ref.j = static_cast<uint32_t>(j);
  return ref;
}

uint64_t guard_value(GuardKind kind, uint64_t g, uint32_t j, uint32_t step) {
  return mix(mix(mix(g, kind_salt(kind)), j), step);
}

nlohmann::json guard_output(GuardKind kind, uint64_t g, uint32_t j) {
  const auto steps = static_cast<uint32_t>(guard_steps(kind).size());
  return nlohmann::json{{"g", g}, {"j", j}, {"v", guard_value(kind, g, j, steps)}};
}

std::vector<std::string> guard_steps(GuardKind kind) {
  switch (kind) {
    case GuardKind::kOnce:
      return {"o1"};
    case GuardKind::kSolo:
      return {"s1", "s2"};
    case GuardKind::kLatest:
      return {"n1", "n2"};
    case GuardKind::kCancellable:
      return {"c1", "c2"};
    case GuardKind::kRanked:
      return {"r1"};
  }
  return {};
}

}  // namespace cairn::engine_crash
