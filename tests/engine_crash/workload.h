// The crash test's workload as a specification: what run k of the "main" function does (its plan,
// derived from the seed and k only), which step attempts fail, and the values every step and run
// must produce; and the bursts of events that start the flow-controlled functions. The child's
// functions follow it; the parent recomputes outputs from it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::engine_crash {

// The event that starts run k of "main" has id "start-<k>" and this name.
inline constexpr std::string_view kStartEvent = "job";
// The event that satisfies a run's wait: data {"key": "k-<k>", "token": token_of(plan)}.
inline constexpr std::string_view kApproveEvent = "approve";
// The event "main" sends with send_event; it starts one "listener" run.
inline constexpr std::string_view kNotedEvent = "noted";
inline constexpr uint32_t kWaitTimeoutMs = 50;
// Retries of every step but "g" (which gets 2); no flaky step fails more than 3 times.
inline constexpr uint32_t kStepRetries = 6;
inline constexpr uint32_t kDoomedRetries = 2;

// SplitMix64 of a ^ (b * golden ratio): the one hash every value of the workload is made of.
uint64_t mix(uint64_t a, uint64_t b);

struct RunPlan {
  uint64_t k = 0;
  uint64_t x = 0;           // the input value every step value is derived from
  uint32_t sleep_ms = 0;    // ctx.sleep("nap") when nonzero
  uint32_t busy_ms = 0;     // step "c" takes this long after journaling (a window for kills)
  bool wait = false;        // wait_for_event("approval") with a kWaitTimeoutMs timeout
  bool approve = false;     // the child sends the approval (it may still time out)
  bool invoke = false;      // ctx.invoke("sq") of "helper"
  bool compensate = false;  // step "h" throws NonRetriableError; the function catches it
  bool emit = false;        // ctx.send_event("emit") of a "noted" event
  bool doomed = false;      // step "g" fails every attempt: the run fails, and main's
                            // on_failure handler runs once for it
};

RunPlan plan_for(uint64_t seed, uint64_t k);
std::string start_event_id(uint64_t k);
std::string key_of(uint64_t k);
// The input event data of run k: {"k": k, "key": "k-<k>", "x": x}.
std::string start_event_data(const RunPlan& plan);
uint64_t token_of(const RunPlan& plan);

enum class OpKind : uint8_t { kStep, kSleep, kWait, kInvoke, kSend };
struct PlannedOp {
  std::string id;
  OpKind kind;
};
// The durable operations of run k of "main", in position order.
std::vector<PlannedOp> main_ops(const RunPlan& plan);
// The helper's, the listener's and main's failure handler's operations.
std::vector<PlannedOp> helper_ops();
std::vector<PlannedOp> listener_ops();
std::vector<PlannedOp> failure_handler_ops();
// The function id of main's failure handler (the engine names it).
inline constexpr std::string_view kFailureHandler = "main/on-failure";

// What attempt `attempt` of step `step_id` of the run for k does.
enum class StepFate : uint8_t { kSucceeds, kThrows, kThrowsNonRetriable };
StepFate step_fate(uint64_t seed, uint64_t k, std::string_view step_id, uint32_t attempt);
// Attempts of a flaky step that fail before one succeeds (0..3); 0 for other steps.
uint32_t failing_attempts(uint64_t seed, uint64_t k, std::string_view step_id);

// Step values (the "v" of a step's output) and run outputs.
uint64_t helper_value(uint64_t y);
nlohmann::json helper_output(uint64_t y);
nlohmann::json listener_output(uint64_t k);
// The value of the failure handler's step "alert" for the failed run of k.
uint64_t alert_value(uint64_t k);
// Every step value of run k; `approved`: the wait received the approval event.
struct MainValues {
  uint64_t a, b, c, d;
  uint64_t r;  // the helper's value (0 without invoke)
  uint64_t e;  // after compensation, when the plan has it
  uint64_t f;
};
MainValues main_values(const RunPlan& plan, bool approved);
nlohmann::json main_output(const RunPlan& plan, bool approved);
// The error a doomed run fails with starts with this.
inline constexpr std::string_view kDoomedError = "doomed step g";

// Flow control. Besides the jobs, the driver sends bursts of flow events: burst g (1..
// flow_bursts) is one send() of `size` events "flow-<g>-<j>", all of one kind and one key. A
// "metered" event starts a run of the rate-limited function "metered" (a refused run is skipped),
// a "paced" event one of the throttled "paced" (a refused run is delayed). Both key on data.k.
// The periods are a few restarts long on the child's real-time clock, so a window spans kills.
inline constexpr std::string_view kMeteredEvent = "metered";
inline constexpr std::string_view kPacedEvent = "paced";
struct FlowLimit {
  uint32_t limit;
  uint32_t period_ms;
  uint32_t burst;
  // At most this many admissions in any half-open window [t, t + period) (docs/flow-control.md):
  // exactly `limit` for a sliding rate limit, limit + burst - 1 for a throttle.
  uint32_t window_max;
};
// burst = limit: three at once after a quiet spell, then one per period.
inline constexpr FlowLimit kMeteredLimit{.limit = 3, .period_ms = 200, .burst = 3, .window_max = 3};
inline constexpr FlowLimit kPacedLimit{.limit = 5, .period_ms = 100, .burst = 2, .window_max = 6};
inline constexpr std::string_view kFlowKeyPath = "data.k";
// Keys 0..kFlowKeys-1. Key 0's events have no "k" field: they count under the key "" (a missing
// field never bypasses a limit); the others carry k as a number or as a string, which are the
// same key.
inline constexpr uint32_t kFlowKeys = 4;
// Events per burst: up to 5 metered (3 pass a fresh key, the rest are skipped) and up to 8 paced
// (a backlog of up to 120 ms that a kill often interrupts).
inline constexpr uint32_t kMeteredBurstMax = 5;
inline constexpr uint32_t kPacedBurstMax = 8;

// One burst per kJobsPerFlowBurst jobs: the driver sends them as the jobs go out.
inline constexpr uint64_t kJobsPerFlowBurst = 4;
uint64_t flow_bursts(uint64_t target_runs);
struct FlowBurst {
  uint64_t g = 0;
  bool paced = false;  // else metered
  uint32_t key = 0;    // 0..kFlowKeys-1
  uint32_t size = 0;
};
FlowBurst flow_burst(uint64_t seed, uint64_t g);
std::string flow_event_id(uint64_t g, uint32_t j);
// (g, j) of "flow-<g>-<j>"; nullopt for any other id.
std::optional<std::pair<uint64_t, uint32_t>> parse_flow_event_id(std::string_view id);
std::string_view flow_event_name(const FlowBurst& burst);
std::string_view flow_function(const FlowBurst& burst);
// {"g": g, "j": j, "k": <the key, as a number or a string; absent for key 0>}
std::string flow_event_data(uint64_t seed, const FlowBurst& burst, uint32_t j);
// The key the engine must record for the burst's runs: "" for key 0, else its decimal form.
std::string flow_key_text(const FlowBurst& burst);
// The one step of a flow run ("m1" for metered, "p1" for paced) and its output.
std::string_view flow_step(const FlowBurst& burst);
uint64_t flow_value(uint64_t g, uint32_t j);
nlohmann::json flow_output(uint64_t g, uint32_t j);

}  // namespace cairn::engine_crash
