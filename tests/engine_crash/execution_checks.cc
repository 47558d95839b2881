// Checks (d) and (f) of crash_checks.h: which journaled execution produced each durable step
// record (its nonce, "inc" and "n", is in a StepCompleted's output and in a StepFailed's error
// text); that no execution of that step came after it; and that no step ran before the records it
// follows were durable.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "engine_crash/crash_checks.h"

namespace cairn::engine_crash {
namespace {

using Nonce = std::pair<uint64_t, uint64_t>;       // (incarnation, execution counter)
using StepKey = std::pair<uint64_t, std::string>;  // (run, step id)

std::optional<Nonce> nonce_of_output(const std::string& output) {
  const nlohmann::json j = nlohmann::json::parse(output, nullptr, false);
  if (!j.is_object() || !j.contains("inc") || !j.contains("n")) return std::nullopt;
  if (!j["inc"].is_number_unsigned() || !j["n"].is_number_unsigned()) return std::nullopt;
  return Nonce{j["inc"].get<uint64_t>(), j["n"].get<uint64_t>()};
}

// "flaky step b: inc=3 n=17 (attempt 1 of 7)" -> (3, 17)
std::optional<Nonce> nonce_of_error(const std::string& error) {
  const size_t inc = error.find("inc=");
  const size_t n = error.find(" n=", inc == std::string::npos ? 0 : inc);
  if (inc == std::string::npos || n == std::string::npos) return std::nullopt;
  return Nonce{std::strtoull(error.c_str() + inc + 4, nullptr, 10),
               std::strtoull(error.c_str() + n + 3, nullptr, 10)};
}

std::string describe(const JournalEntry& e) {
  return "execution " + std::to_string(e.incarnation) + "/" + std::to_string(e.exec) +
         " (attempt " + std::to_string(e.attempt) + (e.fails ? ", failed" : ", succeeded") +
         ", journal entry " + std::to_string(e.index) + ")";
}

class ExecutionChecker {
 public:
  ExecutionChecker(const LogFacts& log, const Journal& journal, CrashVerdict* verdict)
      : log_(log), v_(*verdict) {
    for (const JournalEntry& e : journal.entries) {
      if (e.kind == JournalEntry::Kind::kBegan) last_incarnation_ = e.incarnation;
      if (e.kind != JournalEntry::Kind::kExecuted) continue;
      ++v_.summary.executions;
      v_.summary.failed_attempts += e.fails;
      if (!by_nonce_.emplace(Nonce{e.incarnation, e.exec}, &e).second) {
        fail("two journaled executions share the nonce " + describe(e));
      }
      by_step_[{e.run, e.step_id}].push_back(&e);
    }
  }

  void run() {
    std::set<StepKey> recorded;
    for (const auto& [id, r] : log_.runs) {
      for (const StepCompletedFact& s : r.completed) {
        recorded.insert({id, s.step_id});
        check_completed(r, s);
      }
      for (const StepFailedFact& f : r.failed) {
        recorded.insert({id, f.step_id});
        check_failed(r, f);
      }
    }
    for (const auto& [id, r] : log_.runs) check_ran_after_durable(r);
    for (const auto& [key, execs] : by_step_) {
      if (recorded.contains(key)) continue;
      if (lost_to_a_cancel(key, execs)) continue;
      fail("step " + key.second + " of run " + std::to_string(key.first) + " ran " +
           std::to_string(execs.size()) + " times, but the log has no record of it" +
           (log_.runs.contains(key.first) ? "" : " (nor of the run)"));
    }
  }

 private:
  void fail(std::string what) { v_.violations.push_back(std::move(what)); }

  // A timeout may cancel a run whose step ran in an incarnation that was killed before the step's
  // record was durable: after the restart the run stops at that step's boundary, so the step is
  // never recorded. Not in the last incarnation, which nothing killed (a step body that runs
  // while its run is asked to stop still finishes and is recorded).
  bool lost_to_a_cancel(const StepKey& key, const std::vector<const JournalEntry*>& execs) {
    auto run = log_.runs.find(key.first);
    if (run == log_.runs.end() || run->second.cancellations == 0) return false;
    for (const JournalEntry* x : execs) {
      if (x->incarnation >= last_incarnation_) return false;
    }
    v_.summary.cancelled_lost_executions += execs.size();
    return true;
  }

  const JournalEntry* producer(const std::optional<Nonce>& nonce, const std::string& where) {
    if (!nonce) {
      fail(where + " carries no execution nonce");
      return nullptr;
    }
    auto it = by_nonce_.find(*nonce);
    if (it == by_nonce_.end()) {
      fail(where + " was produced by execution " + std::to_string(nonce->first) + "/" +
           std::to_string(nonce->second) + ", which the journal does not have");
      return nullptr;
    }
    return it->second;
  }

  void check_completed(const RunFacts& r, const StepCompletedFact& s) {
    const std::string where = "StepCompleted of run " + std::to_string(r.id) + " step " +
                              s.step_id + " (LSN " + std::to_string(s.lsn) + ")";
    const JournalEntry* p = producer(nonce_of_output(s.output), where);
    if (p == nullptr) return;
    if (p->run != r.id || p->step_id != s.step_id || p->attempt != s.attempt || p->fails) {
      fail(where + " names " + describe(*p) + " of run " + std::to_string(p->run) + " step " +
           p->step_id + ", which cannot have produced it");
      return;
    }
    for (const JournalEntry* x : by_step_[{r.id, s.step_id}]) {
      if (x == p) continue;
      if (x->index > p->index) {
        fail(where + ": the step ran again after its completion was durable: " + describe(*x) +
             " after the producing " + describe(*p));
      } else if (x->incarnation == p->incarnation && !x->fails) {
        fail(where + ": the step succeeded twice in incarnation " + std::to_string(x->incarnation) +
             ": " + describe(*x) + " and the producing " + describe(*p));
      } else if (!x->fails) {
        ++v_.summary.lost_executions;
      }
    }
  }

  void check_failed(const RunFacts& r, const StepFailedFact& f) {
    const std::string where = "StepFailed of run " + std::to_string(r.id) + " step " + f.step_id +
                              " attempt " + std::to_string(f.attempt) + " (LSN " +
                              std::to_string(f.lsn) + ")";
    const JournalEntry* p = producer(nonce_of_error(f.error), where);
    if (p == nullptr) return;
    if (p->run != r.id || p->step_id != f.step_id || p->attempt != f.attempt || !p->fails) {
      fail(where + " names " + describe(*p) + " of run " + std::to_string(p->run) + " step " +
           p->step_id + ", which cannot have produced it");
      return;
    }
    for (const JournalEntry* x : by_step_[{r.id, f.step_id}]) {
      if (x->index > p->index && x->attempt <= f.attempt) {
        fail(where + ": attempt " + std::to_string(x->attempt) +
             " ran after this failure was durable: " + describe(*x));
      }
    }
  }

  // Check (f): a step body ran only once everything before it in its run was durable: the
  // completion of every earlier step, and the failure of its own previous attempt, were produced
  // by executions journaled before it. (An execution before them means the function moved past a
  // record that a cut could still lose — and did, since it was produced again later.)
  void check_ran_after_durable(const RunFacts& r) {
    std::map<std::string, uint32_t> position;
    std::map<uint32_t, const JournalEntry*> completed_by;  // position -> producing execution
    std::map<std::pair<std::string, uint32_t>, const JournalEntry*> failed_by;  // (step, attempt)
    for (const StepCompletedFact& s : r.completed) {
      position[s.step_id] = s.position;
      if (auto n = nonce_of_output(s.output); n && by_nonce_.contains(*n)) {
        completed_by[s.position] = by_nonce_.at(*n);
      }
    }
    for (const StepFailedFact& f : r.failed) {
      position[f.step_id] = f.position;
      if (auto n = nonce_of_error(f.error); n && by_nonce_.contains(*n)) {
        failed_by[{f.step_id, f.attempt}] = by_nonce_.at(*n);
      }
    }
    for (const auto& [step, p] : position) {
      for (const JournalEntry* x : by_step_[{r.id, step}]) {
        for (auto it = completed_by.begin(); it != completed_by.end() && it->first < p; ++it) {
          if (it->second->index > x->index) {
            fail("run " + std::to_string(r.id) + " step " + step + ": " + describe(*x) +
                 " ran before the completion of the step at position " + std::to_string(it->first) +
                 " was durable (it was produced later, by " + describe(*it->second) + ")");
          }
        }
        if (x->attempt <= 1) continue;
        auto prev = failed_by.find({step, x->attempt - 1});
        if (prev != failed_by.end() && prev->second->index > x->index) {
          fail("run " + std::to_string(r.id) + " step " + step + ": " + describe(*x) +
               " ran before the failure of attempt " + std::to_string(x->attempt - 1) +
               " was durable (it was produced later, by " + describe(*prev->second) + ")");
        }
      }
    }
  }

  const LogFacts& log_;
  CrashVerdict& v_;
  std::map<Nonce, const JournalEntry*> by_nonce_;
  std::map<StepKey, std::vector<const JournalEntry*>> by_step_;
  uint64_t last_incarnation_ = 0;  // the last to begin
};

}  // namespace

void check_executions(const LogFacts& log, const Journal& journal, CrashVerdict* verdict) {
  ExecutionChecker(log, journal, verdict).run();
}

}  // namespace cairn::engine_crash
