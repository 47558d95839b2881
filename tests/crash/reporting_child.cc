// ReportingChild (see reporting_child.h).
#include "crash/reporting_child.h"

#include <cstring>

namespace cairn::testing {

ReportingChild::ReportingChild(const std::string& program, ChildConfig config) {
  if (!pipe_.ok()) return;
  config.report_fd = pipe_.write_fd();
  process_ = std::make_unique<ChildProcess>(config.to_args(program));
  pipe_.close_write_end();
}

const std::string& ReportingChild::start_error() const {
  return process_ ? process_->start_error() : pipe_.error();
}

bool ReportingChild::read_pipe(std::chrono::microseconds timeout) {
  if (!pipe_.read(timeout, &bytes_)) return false;
  take_reports();
  return true;
}

void ReportingChild::take_reports() {
  const size_t n = bytes_.size() / sizeof(AckReport);
  const auto now = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    AckReport r;
    std::memcpy(&r, bytes_.data() + i * sizeof(AckReport), sizeof r);
    switch (r.kind) {
      case ReportKind::kOpening:
        progress_.opening = now;
        break;
      case ReportKind::kOpened:
        progress_.opened = now;
        break;
      default:
        acks_.push_back(r);
        if (!progress_.first_ack) progress_.first_ack = now;
        break;
    }
  }
  progress_.acks = acks_.size();
  reports_read_ += n;
  // Pipe writes of whole reports are atomic, so no partial one should remain; be strict anyway.
  bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(n * sizeof(AckReport)));
}

Followed ReportingChild::wait_until(const std::function<bool(const Progress&)>& reached,
                                    std::chrono::milliseconds stall_timeout) {
  return follow_progress(
      [this] {
        const uint64_t before = reports_read_;
        if (!read_pipe(std::chrono::milliseconds(100))) return Poll::kChildGone;
        return reports_read_ != before ? Poll::kNews : Poll::kQuiet;
      },
      [&] { return reached(progress_); }, stall_timeout);
}

void ReportingChild::read_for(std::chrono::microseconds duration) {
  const auto end = Clock::now() + duration;
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    if (!read_pipe(std::chrono::duration_cast<std::chrono::microseconds>(end - now))) {
      return;  // the child is gone; kill_and_reap will say how
    }
  }
}

std::string ReportingChild::kill_and_reap() {
  if (!process_ || !process_->running()) return process_ ? process_->how() : "not started";
  process_->kill_and_reap();
  // The child is gone, so the pipe ends after what it wrote: read up to the EOF.
  while (read_pipe(std::chrono::seconds(1))) {
  }
  return process_->how();
}

}  // namespace cairn::testing
