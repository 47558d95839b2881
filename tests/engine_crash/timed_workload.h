// The crash test's timed functions as a specification: "ticker" (a cron trigger that fires every
// minute of the child's fast clock), "late" (a finish timeout: every other run sleeps past it)
// and "queued" (a start timeout behind a concurrency limit of 1, whose step is slow), with the
// events the driver sends for the last two and the values their steps produce. Durations here
// are in milliseconds of the child's engine clock, which runs kClockSpeed times faster than real
// time (fast_clock.h); the other functions' durations are scaled by the same factor, so they
// behave as before in real time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cairn::engine_crash {

// Fast milliseconds per real millisecond: a cron minute every half second of real time.
inline constexpr uint32_t kClockSpeed = 120;

// "ticker": one run per tick, each with one step "tick".
inline constexpr std::string_view kTickerFunction = "ticker";
inline constexpr std::string_view kTickerCron = "* * * * *";
inline constexpr int64_t kTickMs = 60'000;
// Ticks missed while the child was down that still run at start, the newest; older ones are
// skipped (CronCursor). Small, so that the crash test's long pauses skip some.
inline constexpr uint32_t kCronCatchUpMax = 3;
// The first tick of the ticker strictly after `ms`.
int64_t next_tick_after(int64_t ms);
uint64_t tick_value(int64_t tick_ms);
nlohmann::json tick_output(int64_t tick_ms);

// "late" (event "late", id "late-<n>", n = 1..late_runs): step "t1", sleep "nap", step "t2",
// with a finish timeout of kLateFinishMs (20 ms of real time). Even n sleep three times that (so
// the run must be cancelled), odd n an eighth of it (it may finish, unless a kill delays it).
inline constexpr std::string_view kLateFunction = "late";
inline constexpr std::string_view kLateEvent = "late";
inline constexpr int64_t kLateFinishMs = 2'400;
inline constexpr uint64_t kJobsPerLate = 10;
uint64_t late_runs(uint64_t target_runs);
int64_t late_sleep_ms(uint64_t n);
std::string late_event_id(uint64_t n);
std::optional<uint64_t> parse_late_event_id(std::string_view id);
uint64_t late_value(uint64_t n, uint32_t step);  // step 1 ("t1") or 2 ("t2")
nlohmann::json late_output(uint64_t n);

// "queued" (event "queued", id "queued-<g>-<j>"): burst g (1..queued_bursts) is one send() of
// kQueuedBurst events. Concurrency limit 1, start timeout kQueuedStartMs (15 ms of real time);
// its one step "q1" keeps the slot for kQueuedBusyRealMs of real time, so the first run of a
// burst starts, the second may, the third cannot start in time and is cancelled.
inline constexpr std::string_view kQueuedFunction = "queued";
inline constexpr std::string_view kQueuedEvent = "queued";
inline constexpr int64_t kQueuedStartMs = 1'800;
inline constexpr uint32_t kQueuedBusyRealMs = 10;
inline constexpr uint32_t kQueuedBurst = 3;
inline constexpr uint64_t kJobsPerQueuedBurst = 25;
uint64_t queued_bursts(uint64_t target_runs);
std::string queued_event_id(uint64_t g, uint32_t j);
std::optional<std::pair<uint64_t, uint32_t>> parse_queued_event_id(std::string_view id);
uint64_t queued_value(uint64_t g, uint32_t j);
nlohmann::json queued_output(uint64_t g, uint32_t j);

}  // namespace cairn::engine_crash
