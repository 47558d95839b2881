// FaultyIoQueue, IoFaults and FaultyFileSystem (see faulty_io.h).
#include "support/faulty_io.h"

#include <algorithm>
#include <deque>
#include <utility>

namespace cairn::testing {
namespace {

using log::IoCompletion;
using log::IoOp;
using log::IoQueue;
using log::IoRequest;

constexpr uint32_t kBlock = 4096;

uint64_t round_down_block(uint64_t n) {
  return n / kBlock * kBlock;
}

bool is_write(IoOp op) {
  return op == IoOp::kWrite || op == IoOp::kWriteThenSync;
}

// Forwards requests to a real queue, changing the ones a fault is due for. Runs on the log's
// writer thread only (IoQueue's contract); the shared IoFaults is what tests touch.
class FaultyIoQueue final : public IoQueue {
 public:
  FaultyIoQueue(std::unique_ptr<IoQueue> inner, std::shared_ptr<IoFaults> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}

  Status submit(std::span<const IoRequest> requests) override {
    std::vector<IoRequest> forward;
    for (const IoRequest& r : requests) {
      size_t event = 0;
      std::optional<WriteFault> fault = faults_->on_submit(r, &event);
      Pending p{r.tag, event, r.len, 0, 0};
      IoRequest inner = r;
      inner.tag = next_id_++;
      if (fault && !apply(*fault, &inner, &p)) {
        synthesized_.push_back({IoCompletion{r.tag, -fault->err}, event});
        continue;
      }
      pending_.emplace(inner.tag, p);
      forward.push_back(inner);
    }
    if (forward.empty()) return Status();
    return inner_->submit(forward);
  }

  Result<size_t> wait(std::span<IoCompletion> out, bool block) override {
    size_t n = 0;
    while (n < out.size() && !synthesized_.empty()) {
      auto [c, event] = synthesized_.front();
      synthesized_.pop_front();
      faults_->on_complete(event, c.result);
      out[n++] = c;
    }
    if (n == out.size()) return n;
    Result<size_t> got = inner_->wait(out.subspan(n), block && n == 0);
    if (!got.ok()) return got.status();
    for (size_t i = n; i < n + *got; ++i) {
      auto it = pending_.find(out[i].tag);
      if (it == pending_.end()) return Status(StatusCode::kInternal, "unknown completion tag");
      const Pending p = it->second;
      pending_.erase(it);
      int64_t result = out[i].result;
      if (p.error_after != 0 && result >= 0) result = -p.error_after;
      if (p.sync_error != 0 && result == static_cast<int64_t>(p.len)) result = -p.sync_error;
      faults_->on_complete(p.event, result);
      out[i] = IoCompletion{p.tag, result};
    }
    return n + *got;
  }

  void wake() override { inner_->wake(); }
  const char* name() const override { return inner_->name(); }

 private:
  struct Pending {
    uint64_t tag;     // the log's tag
    size_t event;     // index into the IoFaults history
    uint32_t len;     // what the log asked for
    int error_after;  // report -error_after once the (partial) write completes
    int sync_error;   // report -sync_error if the whole write completes
  };

  // Rewrites `r` for the fault. Returns false when the request must not reach the disk at all.
  bool apply(const WriteFault& f, IoRequest* r, Pending* p) {
    if (!is_write(r->op)) {  // a lone sync: only a sync error applies
      faults_->on_fault_applied(p->event, f.kind, f.kind == WriteFaultKind::kSyncError);
      return f.kind != WriteFaultKind::kSyncError;
    }
    switch (f.kind) {
      case WriteFaultKind::kShort: {
        const uint32_t shorter =
            static_cast<uint32_t>(std::max<uint64_t>(kBlock, round_down_block(r->len / 2)));
        const bool shortened = shorter < r->len;
        if (shortened) {
          r->op = IoOp::kWrite;  // a short write never reaches its linked sync
          r->len = shorter;
        }
        faults_->on_fault_applied(p->event, f.kind, shortened);
        return true;
      }
      case WriteFaultKind::kError: {
        const uint32_t prefix =
            static_cast<uint32_t>(round_down_block(std::min(f.prefix_bytes, r->len)));
        faults_->on_fault_applied(p->event, f.kind, true);
        if (prefix == 0) return false;
        r->op = IoOp::kWrite;
        r->len = prefix;
        p->error_after = f.err;
        return true;
      }
      case WriteFaultKind::kSyncError:
        r->op = IoOp::kWrite;  // the write happens; its sync is what fails
        p->sync_error = f.err;
        faults_->on_fault_applied(p->event, f.kind, true);
        return true;
    }
    return true;
  }

  std::unique_ptr<IoQueue> inner_;
  std::shared_ptr<IoFaults> faults_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
  std::deque<std::pair<IoCompletion, size_t>> synthesized_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// IoFaults

void IoFaults::fault_nth_write(uint64_t nth, WriteFault fault) {
  std::lock_guard lock(mu_);
  nth_faults_[writes_seen_ + std::max<uint64_t>(nth, 1)] = fault;
}

void IoFaults::fault_every_write(WriteFault fault) {
  std::lock_guard lock(mu_);
  every_write_ = fault;
}

void IoFaults::clear() {
  std::lock_guard lock(mu_);
  nth_faults_.clear();
  every_write_.reset();
}

IoFaultStats IoFaults::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<IoEvent> IoFaults::history() const {
  std::lock_guard lock(mu_);
  return history_;
}

std::optional<WriteFault> IoFaults::on_submit(const IoRequest& r, size_t* event) {
  std::lock_guard lock(mu_);
  if (error_delivered_) ++stats_.requests_after_error;
  if (is_write(r.op)) ++stats_.writes;
  if (r.op != IoOp::kWrite) ++stats_.syncs;
  *event = history_.size();
  history_.push_back(IoEvent{r.op, r.fd, r.offset, r.len, std::nullopt, std::nullopt});
  if (!is_write(r.op)) return every_write_;
  ++writes_seen_;
  if (auto it = nth_faults_.find(writes_seen_); it != nth_faults_.end()) {
    WriteFault f = it->second;
    nth_faults_.erase(it);
    return f;
  }
  return every_write_;
}

void IoFaults::on_fault_applied(size_t event, WriteFaultKind kind, bool took_effect) {
  std::lock_guard lock(mu_);
  if (!took_effect) return;
  history_[event].fault = kind;
  switch (kind) {
    case WriteFaultKind::kShort:
      ++stats_.short_writes;
      break;
    case WriteFaultKind::kError:
      ++stats_.failed_writes;
      break;
    case WriteFaultKind::kSyncError:
      ++stats_.failed_syncs;
      break;
  }
}

void IoFaults::on_complete(size_t event, int64_t result) {
  std::lock_guard lock(mu_);
  IoEvent& e = history_[event];
  e.result = result;
  if (result < 0 && e.fault && *e.fault != WriteFaultKind::kShort) error_delivered_ = true;
}

std::function<std::unique_ptr<IoQueue>()> faulty_io_queue_factory(std::shared_ptr<IoFaults> faults,
                                                                  QueueKind kind) {
  return [faults = std::move(faults), kind]() -> std::unique_ptr<IoQueue> {
    std::unique_ptr<IoQueue> inner =
        kind == QueueKind::kUring ? log::default_io_queue(4) : log::sync_io_queue();
    return std::make_unique<FaultyIoQueue>(std::move(inner), faults);
  };
}

// ---------------------------------------------------------------------------------------------
// FaultyFileSystem

FaultyFileSystem::FaultyFileSystem(std::shared_ptr<log::FileSystem> inner)
    : inner_(std::move(inner)) {}

void FaultyFileSystem::add_fault(FsFault fault) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{std::move(fault)});
}

void FaultyFileSystem::clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

uint64_t FaultyFileSystem::faults_injected() const {
  std::lock_guard lock(mu_);
  return faults_injected_;
}

uint64_t FaultyFileSystem::calls(FsOp op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

FaultyFileSystem::Verdict FaultyFileSystem::check(FsOp op, const std::string& path,
                                                  const std::string& other, uint64_t len) {
  std::lock_guard lock(mu_);
  ++calls_[op];
  for (Rule& rule : rules_) {
    const FsFault& f = rule.fault;
    if (f.op != op) continue;
    if (!f.path_contains.empty() && path.find(f.path_contains) == std::string::npos &&
        other.find(f.path_contains) == std::string::npos) {
      continue;
    }
    if (f.times != 0 && rule.failed >= f.times) continue;  // used up
    if (rule.skipped < f.skip) {
      ++rule.skipped;
      return Verdict{};
    }
    uint64_t allowed = 0;
    if (op == FsOp::kPwrite) {
      const uint64_t budget = f.after_bytes - std::min(f.after_bytes, rule.bytes_passed);
      if (len <= budget) {
        rule.bytes_passed += len;
        return Verdict{};
      }
      allowed = round_down_block(budget);
      rule.bytes_passed += allowed;
    }
    ++rule.failed;
    ++faults_injected_;
    return Verdict{f.err, allowed};
  }
  return Verdict{};
}

std::string FaultyFileSystem::path_of(int fd) const {
  std::lock_guard lock(mu_);
  auto it = fd_paths_.find(fd);
  return it == fd_paths_.end() ? std::string() : it->second;
}

Status FaultyFileSystem::create_dir(const std::string& path) {
  return inner_->create_dir(path);
}

Result<std::vector<std::string>> FaultyFileSystem::list_dir(const std::string& path) {
  return inner_->list_dir(path);
}

Result<bool> FaultyFileSystem::exists(const std::string& path) {
  return inner_->exists(path);
}

Result<int> FaultyFileSystem::open(const std::string& path, log::OpenFlags flags) {
  if (Verdict v = check(FsOp::kOpen, path, "", 0); v.fail_err != 0) {
    return errno_status(v.fail_err, "opening " + path + " [injected fault]");
  }
  Result<int> fd = inner_->open(path, flags);
  if (fd.ok()) {
    std::lock_guard lock(mu_);
    fd_paths_[*fd] = path;
  }
  return fd;
}

Status FaultyFileSystem::close(int fd) {
  {
    std::lock_guard lock(mu_);
    fd_paths_.erase(fd);
  }
  return inner_->close(fd);
}

Result<size_t> FaultyFileSystem::pread(int fd, void* buf, size_t len, uint64_t offset) {
  if (Verdict v = check(FsOp::kPread, path_of(fd), "", len); v.fail_err != 0) {
    return errno_status(v.fail_err, "pread [injected fault]");
  }
  return inner_->pread(fd, buf, len, offset);
}

Status FaultyFileSystem::pwrite(int fd, const void* buf, size_t len, uint64_t offset) {
  const Verdict v = check(FsOp::kPwrite, path_of(fd), "", len);
  if (v.fail_err == 0) return inner_->pwrite(fd, buf, len, offset);
  if (v.allowed > 0) (void)inner_->pwrite(fd, buf, v.allowed, offset);
  return errno_status(v.fail_err, "pwrite [injected fault]");
}

Status FaultyFileSystem::fdatasync(int fd) {
  if (Verdict v = check(FsOp::kFdatasync, path_of(fd), "", 0); v.fail_err != 0) {
    return errno_status(v.fail_err, "fdatasync [injected fault]");
  }
  return inner_->fdatasync(fd);
}

Status FaultyFileSystem::fsync_dir(const std::string& path) {
  if (Verdict v = check(FsOp::kFsyncDir, path, "", 0); v.fail_err != 0) {
    return errno_status(v.fail_err, "fsync of directory " + path + " [injected fault]");
  }
  return inner_->fsync_dir(path);
}

Result<uint64_t> FaultyFileSystem::file_size(int fd) {
  return inner_->file_size(fd);
}

Status FaultyFileSystem::rename(const std::string& from, const std::string& to) {
  if (Verdict v = check(FsOp::kRename, from, to, 0); v.fail_err != 0) {
    return errno_status(v.fail_err, "renaming " + from + " to " + to + " [injected fault]");
  }
  return inner_->rename(from, to);
}

Status FaultyFileSystem::remove(const std::string& path) {
  if (Verdict v = check(FsOp::kRemove, path, "", 0); v.fail_err != 0) {
    return errno_status(v.fail_err, "removing " + path + " [injected fault]");
  }
  return inner_->remove(path);
}

Status FaultyFileSystem::lock(int fd) {
  return inner_->lock(fd);
}

}  // namespace cairn::testing
