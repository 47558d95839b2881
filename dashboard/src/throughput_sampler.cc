// ThroughputSampler (see throughput_sampler.h).
#include "throughput_sampler.h"

#include "run_json.h"

namespace cairn::web {

ThroughputSampler::ThroughputSampler(const Engine& engine, std::chrono::seconds window)
    : engine_(engine), samples_max_(static_cast<size_t>(window.count())) {
  const EngineStats s = engine_.stats();
  last_steps_ = s.steps_completed;
  last_runs_finished_ = s.runs_finished;
  thread_ = std::thread([this] { loop(); });
}

ThroughputSampler::~ThroughputSampler() {
  stop();
}

void ThroughputSampler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<ThroughputSample> ThroughputSampler::samples() const {
  std::lock_guard lock(mu_);
  return {samples_.begin(), samples_.end()};
}

void ThroughputSampler::loop() {
  // Each sample is due one second after the one before (on the steady clock, so that a slow
  // stats() call or a clock change does not shift the grid).
  auto due = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (wake_.wait_until(lock, due, [this] { return stopping_; })) break;
    lock.unlock();
    take_sample();
    lock.lock();
    due += std::chrono::seconds(1);
    const auto now = std::chrono::steady_clock::now();
    if (due < now) due = now + std::chrono::seconds(1);  // fell behind: skip, do not burst
  }
}

void ThroughputSampler::take_sample() {
  const EngineStats s = engine_.stats();
  // Counters only grow; a smaller value (none today) would count as zero, not wrap around.
  const ThroughputSample sample{
      .t_ms = to_ms(std::chrono::system_clock::now()),
      .steps = s.steps_completed >= last_steps_ ? s.steps_completed - last_steps_ : 0,
      .runs_finished =
          s.runs_finished >= last_runs_finished_ ? s.runs_finished - last_runs_finished_ : 0,
  };
  last_steps_ = s.steps_completed;
  last_runs_finished_ = s.runs_finished;
  std::lock_guard lock(mu_);
  samples_.push_back(sample);
  while (samples_.size() > samples_max_) samples_.pop_front();
}

}  // namespace cairn::web
