// A gtest assertion for the checks' planted-fault tests: some violation mentions `text` (else the
// failure lists what was reported). Shared by the checks' tests (crash_checks_test.cc,
// cron_checks_test.cc, and through planted_history.h the keyed and guarded checks' tests).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace cairn::engine_crash {

inline ::testing::AssertionResult mentions(const std::vector<std::string>& violations,
                                           std::string_view text) {
  for (const std::string& s : violations) {
    if (s.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  }
  auto r = ::testing::AssertionFailure()
           << "no violation mentions \"" << text << "\"; got " << violations.size() << ":";
  for (const std::string& s : violations) r << "\n  " << s;
  return r;
}

}  // namespace cairn::engine_crash
