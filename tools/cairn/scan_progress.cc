// ScanProgress (see scan_progress.h).
#include "scan_progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "format.h"

namespace cairn::tools {

ScanProgress::ScanProgress(std::string label)
    : label_(std::move(label)), terminal_(isatty(STDERR_FILENO) == 1) {}

ScanProgress::~ScanProgress() {
  // Erase the line so the report that follows starts clean.
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

std::function<void(uint64_t, uint64_t)> ScanProgress::callback() {
  return [this](uint64_t done, uint64_t total) { update(done, total); };
}

void ScanProgress::update(uint64_t done, uint64_t total) {
  if (!terminal_ || total < kMinTotalBytes) return;
  const int percent = static_cast<int>(done * 100 / total);
  if (percent == last_percent_) return;  // redraw only when the number changes
  last_percent_ = percent;
  shown_ = true;
  std::fprintf(stderr, "\r%s: %3d%% (%s of %s)\033[K", label_.c_str(), percent,
               human_bytes(done).c_str(), human_bytes(total).c_str());
  std::fflush(stderr);
}

Result<log::VerifyReport> verify_log_with_progress(const std::string& dir,
                                                   log::VerifyOptions options, std::string label,
                                                   double* seconds) {
  ScanProgress progress(std::move(label));
  options.progress = progress.callback();
  const auto start = std::chrono::steady_clock::now();
  Result<log::VerifyReport> report = log::verify_log(dir, options);
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace cairn::tools
