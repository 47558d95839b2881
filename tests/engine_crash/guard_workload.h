// The crash test's guarded functions as a specification: "once" (idempotency on data.key),
// "solo" (a singleton per data.key that skips), "latest" (a singleton per data.key that cancels
// the running one), "cancellable" (cancel_on a "halt" event with the same data.key) and "ranked"
// (priority data.p behind a concurrency limit of 1), the bursts of events the driver sends them,
// and the values their steps produce. Burst g of every kind goes out once jobs 1..g *
// kJobsPerGuardBurst have (so bursts of one key come in different send() calls, often in
// different incarnations); the bursts of every kind due together go in one send(), after one of
// the halts due. Durations are in milliseconds of the child's engine clock (timed_workload.h:
// kClockSpeed times real time).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_crash/timed_workload.h"

namespace cairn::engine_crash {

enum class GuardKind : uint8_t { kOnce, kSolo, kLatest, kCancellable, kRanked };
inline constexpr GuardKind kGuardKinds[] = {GuardKind::kOnce, GuardKind::kSolo, GuardKind::kLatest,
                                            GuardKind::kCancellable, GuardKind::kRanked};

// "once" (event "once", id "once-<g>-<j>"): one step "o1". Idempotency on data.key, window
// kOnceWindowMs (longer than any test: every event of a key after the first is a duplicate).
// The bursts of kOnceBurstsPerKey consecutive g share their key "i<(g-1)/3>".
inline constexpr std::string_view kOnceFunction = "once";
inline constexpr int64_t kOnceWindowMs = 24 * 3600 * 1000;
inline constexpr uint64_t kOnceBurstsPerKey = 3;
inline constexpr uint32_t kOnceBurstMax = 2;

// "solo" (kSkip) and "latest" (kCancelRunning), events "solo-<g>-<j>" / "latest-<g>-<j>": a
// step ("s1" / "n1"), a sleep "hold", a step ("s2" / "n2"). A burst is one key of kSingletonKeys
// ("s<n>" / "l<n>"); the hold (40 ms of real time) keeps the key held across some later bursts.
inline constexpr std::string_view kSoloFunction = "solo";
inline constexpr std::string_view kLatestFunction = "latest";
inline constexpr uint32_t kSingletonKeys = 2;
inline constexpr uint32_t kSingletonBurstMax = 3;
inline constexpr int64_t kSingletonHoldMs = 40 * int64_t{kClockSpeed};

// "cancellable" (event "cancellable", id "cancellable-<g>-<j>", j = 0, 1, key "c<g>-<j>"): step
// "c1", then (j = 0) a sleep "hold" or (j = 1) a wait for a "release" event that never comes,
// both kCancelHoldMs (150 ms of real time), then step "c2". cancel_on {"halt", data.key}. The
// driver sends "halt-<g>-<j>" ({"key": "c<g>-<j>"}) for the runs halted() picks with burst g + 1
// (so mostly while they hold, some after they finished; the last burst's right after it), and
// with every burst, before its runs, "halt-<g>-9" for the key of run j = 1 (too early: it must
// cancel nothing).
inline constexpr std::string_view kCancellableFunction = "cancellable";
inline constexpr std::string_view kHaltEvent = "halt";
inline constexpr std::string_view kReleaseEvent = "release";
inline constexpr int64_t kCancelHoldMs = 150 * int64_t{kClockSpeed};
inline constexpr uint32_t kCancellableBurst = 2;
inline constexpr uint32_t kEarlyHaltJ = 9;

// "ranked" (event "ranked", id "ranked-<g>-<j>", data.p = ranked_priority): concurrency limit 1,
// priority data.p; one step "r1" busy for kRankedBusyRealMs. A burst is one send() of 3..4
// events, queued together behind the slot.
inline constexpr std::string_view kRankedFunction = "ranked";
inline constexpr uint32_t kRankedBurstMin = 3;
inline constexpr uint32_t kRankedBurstMax = 4;
inline constexpr uint32_t kRankedBusyRealMs = 1;

inline constexpr std::string_view kGuardKeyPath = "data.key";
inline constexpr uint64_t kJobsPerGuardBurst = 10;

struct GuardBurst {
  GuardKind kind = GuardKind::kOnce;
  uint64_t g = 0;  // 1..guard_bursts()
  uint32_t size = 0;
  uint32_t key = 0;  // solo and latest: 0..kSingletonKeys-1
};
uint64_t guard_bursts(uint64_t target_runs);
GuardBurst guard_burst(uint64_t seed, GuardKind kind, uint64_t g);
std::vector<GuardBurst> guard_bursts_of(uint64_t seed, GuardKind kind, uint64_t target_runs);

std::string_view guard_function(GuardKind kind);  // also its event's name
std::string guard_event_id(GuardKind kind, uint64_t g, uint32_t j);
// The key (data.key) of event j of a burst; "" for "ranked", which has none.
std::string guard_key(const GuardBurst& burst, uint32_t j);
int ranked_priority(uint64_t seed, uint64_t g, uint32_t j);  // -2..2
// {"g", "j", "key"} ("ranked": {"g", "j", "p"}).
nlohmann::json guard_event_data(uint64_t seed, const GuardBurst& burst, uint32_t j);

// "cancellable": whether run j of burst g gets its halt; its hold is a sleep (j = 0) or a wait.
bool halted(uint64_t seed, uint64_t g, uint32_t j);
std::string halt_event_id(uint64_t g, uint32_t j);
// {"key": "c<g>-<j>"} (the early halt, j = kEarlyHaltJ: "c<g>-1").
nlohmann::json halt_event_data(uint64_t g, uint32_t j);
// The halts due with burst g: those of burst g - 1 that halted() picks, then the early one of
// burst g (none past the last burst). As (g, j) of the run each names.
std::vector<std::pair<uint64_t, uint32_t>> halts_sent_with(uint64_t seed, uint64_t g,
                                                           uint64_t bursts);

// Which guarded event an id names: kind (nullopt for a halt), g, j. nullopt: no such id.
struct GuardEventRef {
  std::optional<GuardKind> kind;
  uint64_t g = 0;
  uint32_t j = 0;
};
std::optional<GuardEventRef> parse_guard_event_id(std::string_view id);

// Every step's value ({"v": ...} of its output) and every completed run's output {"g", "j", "v"}.
uint64_t guard_value(GuardKind kind, uint64_t g, uint32_t j, uint32_t step);
nlohmann::json guard_output(GuardKind kind, uint64_t g, uint32_t j);
// The step ids of each kind, in order ("o1"; "s1", "s2"; "n1", "n2"; "c1", "c2"; "r1").
std::vector<std::string> guard_steps(GuardKind kind);

}  // namespace cairn::engine_crash
