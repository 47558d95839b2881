// Check (k) of crash_checks.h: batching across kills. Each key's timeline (keyed_timeline.h) is
// walked the way the engine applies it: a batch opens at an event and takes the key's following
// events while it holds fewer than kBatchMax and they were created before its first + the
// timeout (and before its run's own BatchDue, if that is earlier in the log). The first event's
// run completes once with exactly its batch's events, in order, in its step's recorded output;
// every other run ends skipped, naming it; and over the whole log every event is delivered once.
#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "engine_crash/crash_checks.h"
#include "engine_crash/keyed_timeline.h"

namespace cairn::engine_crash {
namespace {

using nlohmann::json;

class BatchChecker {
 public:
  BatchChecker(const LogFacts& log, const std::vector<KeyedBurst>& bursts, CrashVerdict* verdict)
      : log_(log), bursts_(bursts), v_(*verdict) {}

  void run() {
    v_.summary.batch_events = check_keyed_events(log_, KeyedKind::kBatch, bursts_, &v_);
    for (const auto& [key, items] : keyed_timelines(log_, KeyedKind::kBatch)) walk(key, items);
    for (const auto& [id, r] : log_.runs) {
      if (r.function_id != kBatchedFunction) continue;
      if (!walked_.contains(id)) fail(keyed_run_name(r) + " was not created by a batch event");
      for (const StepCompletedFact& s : r.completed) count_delivered(r, s);
    }
    check_delivered_once();
  }

 private:
  struct Batch {
    std::vector<const RunFacts*> runs;  // the first holds the batch
    std::vector<uint64_t> lsns;         // of their events
    int64_t first_ms = 0;
  };

  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  void walk(const std::string& key, const std::vector<KeyedItem>& items) {
    std::optional<Batch> open;
    int64_t due_closed = INT64_MIN;  // the timeout of a batch its BatchDue just closed (or none)
    for (const KeyedItem& item : items) {
      if (item.due) {
        if (open && item.run == open->runs.front()) {
          due_closed = open->first_ms + kBatchTimeoutMs;
          close(*open, key);
          open.reset();
        }
        continue;  // else stale: the batch had filled up before its timer fired
      }
      walked_.insert(item.run->id);
      if (open && open->first_ms + kBatchTimeoutMs <= item.created_ms) {
        close(*open, key);
        open.reset();
      }
      if (item.created_ms < due_closed) ++v_.summary.batch_due_first;
      due_closed = INT64_MIN;
      if (!open) open = Batch{{}, {}, item.created_ms};
      open->runs.push_back(item.run);
      open->lsns.push_back(item.lsn);
      if (open->runs.size() >= kBatchMax) {
        close(*open, key);
        open.reset();
      }
    }
    if (open) close(*open, key);
  }

  void close(const Batch& b, const std::string& key) {
    ++v_.summary.batches;
    const bool full = b.runs.size() >= kBatchMax;
    v_.summary.batches_full += full;
    const RunFacts& holder = *b.runs.front();
    const std::string name = keyed_run_name(holder);
    json events = json::array();
    for (const RunFacts* r : b.runs) events.push_back(json::parse(r->input, nullptr, false));
    if (const std::string p = keyed_end_problem(holder, true); !p.empty()) {
      fail(name + " holds a batch of " + std::to_string(b.runs.size()) +
           " events and should have completed, but it " + p +
           (holder.skips.empty() ? "" : " (skipped: " + holder.skips.front().reason + ")"));
    }
    // It starts once the batch is full, or at its timeout: never before.
    const int64_t start_ms = full ? b.runs.back()->created_us / 1000 : b.first_ms + kBatchTimeoutMs;
    if (holder.admissions.size() != 1) {
      fail(name + " has " + std::to_string(holder.admissions.size()) +
           " RunAdmitted records; a batch's run has exactly one");
    } else if (const AdmittedFact& a = holder.admissions.front(); a.at_ms < start_ms) {
      fail(name + ": admitted at " + std::to_string(a.at_ms) + " ms, before its batch closed at " +
           std::to_string(start_ms) + " ms");
    } else if (const uint64_t first = first_step_lsn(holder); first != 0 && first < a.lsn) {
      fail(name + ": a step record at LSN " + std::to_string(first) +
           " precedes its RunAdmitted at LSN " + std::to_string(a.lsn));
    }
    if (holder.completed.size() != 1 || holder.completed[0].step_id != "b1" ||
        !holder.failed.empty()) {
      fail(name + ": " + std::to_string(holder.completed.size()) +
           " StepCompleted records; expected one, of step b1");
    } else {
      const json out = json::parse(holder.completed[0].output, nullptr, false);
      if (!out.is_object() || out.value("events", json()) != events ||
          out.value("v", json()) != batch_value(events)) {
        fail(name + ": step b1 recorded " + holder.completed[0].output +
             "; its batch is exactly the events " + events.dump() + " (value " +
             std::to_string(batch_value(events)) + ")");
      }
    }
    if (!holder.completions.empty() &&
        json::parse(holder.completions.front().second, nullptr, false) != batch_output(events)) {
      fail(name + ": output " + holder.completions.front().second + ", expected " +
           batch_output(events).dump());
    }
    for (size_t i = 1; i < b.runs.size(); ++i) {
      joined(*b.runs[i], holder, key);
      v_.summary.batch_joined_across_sends += b.lsns[i] != b.lsns.front();
    }
  }

  void joined(const RunFacts& r, const RunFacts& holder, const std::string& key) {
    ++v_.summary.batch_joined;
    const std::string name = keyed_run_name(r);
    const std::string expected = "batched into run " + std::to_string(holder.id);
    if (const std::string p = keyed_end_problem(r, false); !p.empty()) {
      fail(name + " joined the batch of run " + std::to_string(holder.id) + " but it " + p);
    } else if (const std::string& reason = r.skips.front().reason;
               !reason.starts_with(expected) ||
               (reason.size() > expected.size() && reason[expected.size()] != ' ') ||
               reason.find('"' + key + '"') == std::string::npos) {
      fail(name + " was skipped with \"" + reason + "\"; expected \"" + expected +
           "\" naming key \"" + key + "\"");
    }
    if (!r.admissions.empty() || first_step_lsn(r) != 0) {
      fail(name + " joined a batch, yet it was admitted or ran a step");
    }
  }

  // The events a batch's run saw, by their ids, from what its step recorded.
  void count_delivered(const RunFacts& r, const StepCompletedFact& s) {
    const json out = json::parse(s.output, nullptr, false);
    if (!out.is_object() || !out.contains("events") || !out["events"].is_array()) return;
    for (const json& e : out["events"]) {
      const std::string id =
          keyed_event_id(KeyedKind::kBatch, e.value("g", uint64_t{0}), e.value("j", uint32_t{0}));
      delivered_[id].push_back(r.id);
    }
  }

  // No event lost or delivered twice over the whole test.
  void check_delivered_once() {
    std::set<std::string> sent;
    for (const EventFact& e : log_.events) {
      if (e.name == kBatchEvent) sent.insert(e.id);
    }
    for (const std::string& id : sent) {
      auto it = delivered_.find(id);
      const size_t n = it == delivered_.end() ? 0 : it->second.size();
      if (n == 1) continue;
      std::string runs;
      if (n != 0) {
        for (uint64_t run : it->second) runs.append(" ").append(std::to_string(run));
        runs = " (runs" + runs + ")";
      }
      fail("event " + id + " was delivered to " + std::to_string(n) + " batch runs" + runs +
           "; every event is delivered once");
    }
    for (const auto& [id, runs] : delivered_) {
      if (!sent.contains(id)) fail("event " + id + " was delivered, but it is not in the log");
    }
  }

  const LogFacts& log_;
  const std::vector<KeyedBurst>& bursts_;
  CrashVerdict& v_;
  std::set<uint64_t> walked_;
  std::map<std::string, std::vector<uint64_t>> delivered_;  // event id -> runs that saw it
};

}  // namespace

void check_batching(const LogFacts& log, const std::vector<KeyedBurst>& bursts,
                    CrashVerdict* verdict) {
  BatchChecker(log, bursts, verdict).run();
}

}  // namespace cairn::engine_crash
