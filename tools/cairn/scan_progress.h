// ScanProgress: "verifying: 42% (1.2 GiB of 2.8 GiB)" on stderr while a long scan runs. It shows
// only when stderr is a terminal and the scan is large, so pipes, logs and tests never see it.
// verify_log_with_progress runs verify_log with it, for the commands that print its report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cairn/log/verify.h"

namespace cairn::tools {

class ScanProgress {
 public:
  // Scans smaller than this finish too fast for progress to help.
  static constexpr uint64_t kMinTotalBytes = uint64_t{256} << 20;

  explicit ScanProgress(std::string label);
  ~ScanProgress();  // clears the progress line
  ScanProgress(const ScanProgress&) = delete;
  ScanProgress& operator=(const ScanProgress&) = delete;

  // For VerifyOptions::progress: (bytes done, bytes in all). Valid while this object lives.
  std::function<void(uint64_t, uint64_t)> callback();

 private:
  void update(uint64_t done, uint64_t total);

  std::string label_;
  bool terminal_ = false;
  bool shown_ = false;
  int last_percent_ = -1;
};

// verify_log(dir, options) with a ScanProgress named `label`, cleared before this returns.
// `seconds` gets the scan's wall-clock time.
Result<log::VerifyReport> verify_log_with_progress(const std::string& dir,
                                                   log::VerifyOptions options, std::string label,
                                                   double* seconds);

}  // namespace cairn::tools
