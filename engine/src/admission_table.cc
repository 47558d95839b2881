// AdmissionTable (see admission_table.h).
#include "admission_table.h"

#include <algorithm>
#include <utility>

namespace cairn::detail {
namespace {

constexpr int64_t kSweepEveryMs = 60'000;
// A throttled run of a key the full table cannot take is decided again after this long (a run of a
// new idempotency key while its function holds idempotency_keys_max, at the next sweep).
constexpr int64_t kFullTableRetryMs = 1'000;

std::string key_text(std::string_view key) {
  return key.empty() ? std::string("(no key)") : "key \"" + std::string(key) + "\"";
}

}  // namespace

AdmissionTable::Limits& AdmissionTable::limits_of(const FunctionEntry& fn) {
  auto [it, added] = by_fn_.try_emplace(&fn);
  if (added) {
    const FunctionFlow& f = *fn.flow;
    const flow::KeyedLimiterOptions o{.keys_max = keys_max_};
    if (f.throttle) it->second.throttle.emplace(*f.throttle, o);
    if (f.rate_limit) it->second.rate_limit.emplace(*f.rate_limit, o);
  }
  return it->second;
}

void AdmissionTable::sweep_now_and_then(const FunctionFlow& f, Limits& l, int64_t now_ms) {
  if (now_ms - l.swept_ms < kSweepEveryMs) return;
  l.swept_ms = now_ms;
  if (l.throttle) l.throttle->sweep(now_ms);
  if (l.rate_limit) l.rate_limit->sweep(now_ms);
  std::erase_if(l.seen,
                [&](const auto& e) { return now_ms - e.second.at_ms >= f.idempotency_window_ms; });
}

AdmissionTable::Replaced AdmissionTable::hold_keys(const FunctionFlow& f, Limits& l, RunRecord& run,
                                                   int64_t at_ms) {
  const RunFlow& flow = *run.flow;
  if (f.idempotency) {
    auto [it, added] =
        l.seen.try_emplace(flow::KeyedLimiter::hash_key(flow.idempotency_key), Seen{run.id, at_ms});
    if (!added && at_ms - it->second.at_ms >= f.idempotency_window_ms) {
      it->second = Seen{run.id, at_ms};
    }
  }
  if (!f.singleton) return {};
  RunRecord*& holder = l.active[flow::KeyedLimiter::hash_key(flow.singleton_key)];
  if (holder == nullptr || holder == &run) {
    holder = &run;
    return {};
  }
  if (holder->id > run.id) return {&run, holder->id};  // a newer run holds the key: it stays
  RunRecord* replaced = std::exchange(holder, &run);
  return {replaced, run.id};
}

AdmissionTable::LineKey AdmissionTable::line_of(const FunctionEntry& fn, const RunFlow& flow) {
  return {&fn, flow::KeyedLimiter::hash_key(flow.throttle_key)};
}

bool AdmissionTable::wait_in_line(const FunctionEntry& fn, RunRecord& run) {
  std::deque<RunRecord*>& line = lines_[line_of(fn, *run.flow)];
  line.push_back(&run);
  return line.size() == 1;
}

RunRecord* AdmissionTable::first_in_line(const FunctionEntry& fn, const RunFlow& flow) const {
  auto it = lines_.find(line_of(fn, flow));
  return it == lines_.end() || it->second.empty() ? nullptr : it->second.front();
}

bool AdmissionTable::leave_line(const FunctionEntry& fn, RunRecord& run) {
  auto it = lines_.find(line_of(fn, *run.flow));
  if (it == lines_.end()) return false;
  std::deque<RunRecord*>& line = it->second;
  const auto pos = std::find(line.begin(), line.end(), &run);  // the first, but for cancels
  if (pos == line.end()) return false;
  const bool first = pos == line.begin();
  line.erase(pos);
  if (line.empty()) lines_.erase(it);
  return first;
}

AdmissionTable::Verdict AdmissionTable::decide(const FunctionEntry& fn, RunRecord& run,
                                               int64_t now_ms, bool first_in_line) {
  Limits& l = limits_of(fn);
  const FunctionFlow& f = *fn.flow;
  sweep_now_and_then(f, l, now_ms);
  RunFlow& flow = *run.flow;
  Verdict out;
  // Idempotency, singleton and the rate limit first, once: a run they skip uses no throttle
  // budget, and a run they counted that the throttle then delays is not counted again.
  if (!flow.counted) {
    if (f.idempotency) {
      auto it = l.seen.find(flow::KeyedLimiter::hash_key(flow.idempotency_key));
      if (it != l.seen.end() && now_ms - it->second.at_ms < f.idempotency_window_ms) {
        flow.skip_reason = "idempotency key \"" + flow.idempotency_key + "\" already started run " +
                           std::to_string(it->second.run) + " within " +
                           std::to_string(f.idempotency_window_ms) + " ms";
        return {RunFlow::Admission::kToSkip, 0, {}};
      }
      // A key past its window takes its entry's place; only a new key needs room. Room comes only
      // from the sweep, so the run is decided again when the next one may run, not before (each
      // decision is a record when its timer fires).
      if (it == l.seen.end() && l.seen.size() >= idempotency_keys_max_) {
        return {RunFlow::Admission::kDelayed,
                std::max(now_ms + kFullTableRetryMs, l.swept_ms + kSweepEveryMs),
                {}};
      }
    }
    if (f.singleton && f.singleton_mode == Singleton::Mode::kSkip) {
      auto it = l.active.find(flow::KeyedLimiter::hash_key(flow.singleton_key));
      if (it != l.active.end() && it->second != &run) {
        flow.skip_reason = "singleton: run " + std::to_string(it->second->id) + " of " +
                           key_text(flow.singleton_key) + " is not finished";
        return {RunFlow::Admission::kToSkip, 0, {}};
      }
    }
    if (l.rate_limit) {
      Result<flow::LimitDecision> d = l.rate_limit->decide(flow.rate_limit_key, now_ms);
      if (!d.ok()) {
        flow.skip_reason = f.rate_limit_text + " for " + key_text(flow.rate_limit_key) + ": " +
                           d.status().message();
        return {RunFlow::Admission::kToSkip, 0, {}};
      }
      if (!d->allowed) {
        flow.skip_reason = f.rate_limit_text + " reached for " + key_text(flow.rate_limit_key);
        return {RunFlow::Admission::kToSkip, 0, {}};
      }
    }
    flow.counted = true;
    out.replaced = hold_keys(f, l, run, now_ms);
  }
  if (l.throttle) {
    if (!first_in_line && lines_.contains(line_of(fn, flow))) {
      out.admission = RunFlow::Admission::kDelayed;  // behind its key's earlier delayed runs
      return out;
    }
    Result<flow::LimitDecision> d = l.throttle->decide(flow.throttle_key, now_ms);
    if (!d.ok()) {
      out.admission = RunFlow::Admission::kDelayed;
      out.retry_at_ms = now_ms + kFullTableRetryMs;
      return out;
    }
    if (!d->allowed) {
      out.admission = RunFlow::Admission::kDelayed;
      out.retry_at_ms = d->retry_at_ms;
      return out;
    }
  }
  flow.decided_ms = now_ms;
  return out;
}

AdmissionTable::Replaced AdmissionTable::record(RunRecord& run, bool throttle,
                                                std::string_view throttle_key, bool rate_limit,
                                                std::string_view rate_limit_key, int64_t at_ms) {
  const FunctionEntry* fn = run.fn;
  if (fn == nullptr || fn->flow == nullptr) return {};
  Limits& l = limits_of(*fn);
  sweep_now_and_then(*fn->flow, l, at_ms);
  if (throttle && l.throttle) {
    l.throttle->record_hashed(flow::KeyedLimiter::hash_key(throttle_key), at_ms);
  }
  if (rate_limit && l.rate_limit) {
    l.rate_limit->record_hashed(flow::KeyedLimiter::hash_key(rate_limit_key), at_ms);
  }
  if (run.flow == nullptr) return {};
  return hold_keys(*fn->flow, l, run, at_ms);
}

void AdmissionTable::restore_active(RunRecord& run) {
  if (run.fn == nullptr || run.fn->flow == nullptr || !run.fn->flow->singleton) return;
  limits_of(*run.fn).active[flow::KeyedLimiter::hash_key(run.flow->singleton_key)] = &run;
}

void AdmissionTable::run_finished(RunRecord& run) {
  if (run.fn == nullptr || run.fn->flow == nullptr || !run.fn->flow->singleton) return;
  auto it = by_fn_.find(run.fn);
  if (it == by_fn_.end()) return;
  auto a = it->second.active.find(flow::KeyedLimiter::hash_key(run.flow->singleton_key));
  if (a != it->second.active.end() && a->second == &run) it->second.active.erase(a);
}

void AdmissionTable::restore_idempotency(const FunctionEntry& fn, uint64_t key_hash, RunId run,
                                         int64_t at_ms) {
  if (fn.flow == nullptr || !fn.flow->idempotency) return;
  limits_of(fn).seen[key_hash] = Seen{run, at_ms};
}

void AdmissionTable::restore(const FunctionEntry& fn, LimitKind kind, uint64_t key_hash,
                             uint64_t state) {
  if (fn.flow == nullptr || key_hash == 0) return;
  Limits& l = limits_of(fn);
  auto& limiter = kind == LimitKind::kThrottle ? l.throttle : l.rate_limit;
  if (limiter) limiter->restore(key_hash, state);
}

size_t AdmissionTable::keys() const {
  size_t n = 0;
  for (const auto& [fn, l] : by_fn_) {
    if (l.throttle) n += l.throttle->size();
    if (l.rate_limit) n += l.rate_limit->size();
  }
  return n;
}

}  // namespace cairn::detail
