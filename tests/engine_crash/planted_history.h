// PlantedHistory: the base of the planted-fault tests of the keyed (j, k) and guarded (l to p)
// checks. A test builds a LogFacts by hand, record by record in LSN order, plants a fault in it,
// and asserts what the checks report (verdict(), which each fixture runs its checks for).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "engine_crash/crash_checks.h"
#include "engine_crash/log_facts.h"
#include "engine_crash/violation_match.h"

namespace cairn::engine_crash {

class PlantedHistory : public ::testing::Test {
 protected:
  virtual CrashVerdict verdict() const = 0;

  ::testing::AssertionResult reported(std::string_view text) const {
    return mentions(verdict().violations, text);
  }
  std::string all_violations() const {
    std::string all;
    for (const std::string& s : verdict().violations) all += "\n  " + s;
    return all;
  }

  uint64_t next_lsn() { return lsn_ += 10; }

  // The event `e` (its lsn, id, name, data and functions set) accepted and the one run it starts,
  // the next run id, created at `created_us` by `function`.
  RunFacts& accept_with_run(EventFact e, const std::string& function, int64_t created_us) {
    e.first_run_id = ++last_run_;
    RunFacts& r = facts.runs[last_run_];
    r.id = last_run_;
    r.function_id = function;
    r.input = e.data;
    r.created_lsn = e.lsn;
    r.times_created = 1;
    r.start_event_id = e.id;
    r.created_us = created_us;
    facts.events.push_back(std::move(e));
    return r;
  }

  void skip(RunFacts& r, std::string reason) {
    r.skips.push_back({next_lsn(), std::move(reason), "", 0});
    r.finished_lsn = r.skips.back().lsn;
  }

  LogFacts facts;

 private:
  uint64_t lsn_ = 1000;
  uint64_t last_run_ = 0;
};

}  // namespace cairn::engine_crash
