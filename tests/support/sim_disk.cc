// SimDisk (see sim_disk.h): the in-memory tree with its current and durable state, the FileSystem
// and IoQueue that operate on it, power cuts, and the reboot that keeps what survived.
#include "support/sim_disk.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <utility>

namespace cairn::testing {
namespace {

using log::IoCompletion;
using log::IoOp;
using log::IoRequest;
using log::OpenFlags;

constexpr uint64_t kDirectAlign = 4096;
constexpr int kFirstFd = 1'000'000;
constexpr uint64_t kRootId = 1;

using Bytes = std::vector<std::byte>;
using Parts = std::vector<std::string>;

// The components of a path: repeated and trailing slashes ignored, "." and ".." resolved, and a
// relative path taken from the root.
Parts split_path(std::string_view path) {
  Parts parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    i = j + 1;
  }
  return parts;
}

Status power_cut(std::string_view what) {
  return errno_status(EIO, std::string(what) + " (simulated power cut)");
}

bool direct_aligned(const void* buf, uint64_t len, uint64_t offset) {
  return reinterpret_cast<uintptr_t>(buf) % kDirectAlign == 0 && len % kDirectAlign == 0 &&
         offset % kDirectAlign == 0;
}

bool is_write(IoOp op) {
  return op == IoOp::kWrite || op == IoOp::kWriteThenSync;
}

// Seeded draws made from raw generator output, so that an image does not depend on how the
// standard library implements its distributions.
bool coin(std::mt19937_64& rng) {
  return (rng() >> 63) != 0;
}
bool chance(std::mt19937_64& rng, double p) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
}

Bytes::const_iterator at(const Bytes& b, uint64_t i) {
  return b.begin() + static_cast<ptrdiff_t>(i);
}

// One inode: a directory or a file, as processes see it and as it would survive a power cut.
struct Node {
  bool is_dir = false;
  // Directory: the entries processes see, and those as of the last fsync_dir.
  std::map<std::string, uint64_t> entries;
  std::map<std::string, uint64_t> durable_entries;
  // File: the current bytes. The durable content is durable_size bytes, equal to the current
  // bytes except in the sectors of `saved`, which hold their durable bytes (zero-padded up to
  // durable_size); sectors from durable_size on are all new. Keeping only old copies of the
  // sectors changed since the last sync makes a sync cheap whatever the file's size.
  Bytes data;
  uint64_t durable_size = 0;
  std::map<uint64_t, Bytes> saved;  // by sector index; only sectors that start below durable_size
  int lock_fd = 0;                  // the fd holding the flock, or 0
};

// Sector j of the current content (shorter at the end of the file, empty beyond it).
Bytes current_sector(const Node& n, uint64_t s, uint64_t j) {
  const uint64_t begin = j * s;
  if (begin >= n.data.size()) return {};
  const uint64_t end = std::min<uint64_t>(begin + s, n.data.size());
  return Bytes(at(n.data, begin), at(n.data, end));
}

// Sector j of the durable content.
Bytes durable_sector(const Node& n, uint64_t s, uint64_t j) {
  const uint64_t begin = j * s;
  if (begin >= n.durable_size) return {};
  const uint64_t len = std::min<uint64_t>(s, n.durable_size - begin);
  Bytes out;
  if (auto it = n.saved.find(j); it != n.saved.end()) {
    out = it->second;
  } else {  // unchanged since the last sync: the current bytes are the durable ones
    out.assign(at(n.data, begin), at(n.data, begin + len));
  }
  out.resize(len);
  return out;
}

// Writes to the current content only, first saving the durable bytes of every sector it changes
// (including those of a gap it leaves past the end of the file).
void apply_write(Node& n, uint64_t s, uint64_t offset, const std::byte* p, size_t len) {
  if (len == 0) return;
  const uint64_t end = offset + len;
  const uint64_t first = std::min<uint64_t>(offset, n.data.size()) / s;
  const uint64_t last = (end - 1) / s;
  if (n.durable_size > 0) {
    const uint64_t stop = std::min(last, (n.durable_size - 1) / s);
    for (uint64_t j = first; j <= stop; ++j) {
      if (!n.saved.contains(j)) n.saved.emplace(j, durable_sector(n, s, j));
    }
  }
  if (end > n.data.size()) n.data.resize(end);
  std::memcpy(n.data.data() + offset, p, len);
}

// Makes the current bytes [offset, end) durable (an O_DSYNC write): the durable size grows to
// `end` if it was smaller, with zeros in any gap.
void make_range_durable(Node& n, uint64_t s, uint64_t offset, uint64_t end) {
  if (end <= offset) return;
  const uint64_t new_size = std::max(n.durable_size, end);
  const uint64_t first = std::min(offset, n.durable_size) / s;
  const uint64_t last = (end - 1) / s;
  for (uint64_t j = first; j <= last; ++j) {
    const uint64_t begin = j * s;
    Bytes d = durable_sector(n, s, j);
    d.resize(std::min(s, new_size - begin));
    const uint64_t from = std::max(offset, begin);
    const uint64_t to = std::min(end, begin + s);
    if (from < to) std::memcpy(d.data() + (from - begin), n.data.data() + from, to - from);
    if (d == current_sector(n, s, j)) {
      n.saved.erase(j);
    } else {
      n.saved[j] = std::move(d);
    }
  }
  n.durable_size = new_size;
}

// fdatasync: the current content and size become durable.
void make_durable(Node& n) {
  n.saved.clear();
  n.durable_size = n.data.size();
}

// What a power cut leaves of a file: its durable content and, when tearing, each changed sector
// independently new or old. A new sector past the durable size extends the file over it.
Bytes surviving_content(const Node& n, uint64_t s, bool tear, std::mt19937_64& rng,
                        CutReport& report) {
  std::vector<uint64_t> changed;
  for (const auto& entry : n.saved) {
    const uint64_t j = entry.first;
    if (durable_sector(n, s, j) != current_sector(n, s, j)) changed.push_back(j);
  }
  for (uint64_t j = (n.durable_size + s - 1) / s; j * s < n.data.size(); ++j) changed.push_back(j);
  uint64_t size = n.durable_size;
  std::vector<uint64_t> old_sectors;
  for (const uint64_t j : changed) {
    if (tear && coin(rng)) {
      ++report.sectors_new;
      size = std::max(size, std::min<uint64_t>((j + 1) * s, n.data.size()));
    } else {
      ++report.sectors_old;
      old_sectors.push_back(j);
    }
  }
  Bytes out(n.data.begin(), at(n.data, size));
  for (const uint64_t j : old_sectors) {
    const uint64_t begin = j * s;
    if (begin >= size) continue;
    Bytes d = durable_sector(n, s, j);
    d.resize(std::min(s, size - begin));  // zeros past the durable size, up to a torn sector
    std::copy(d.begin(), d.end(), out.begin() + static_cast<ptrdiff_t>(begin));
  }
  return out;
}

struct Fd {
  uint64_t node = 0;
  OpenFlags flags;
  std::string path;  // for describing the operation a cut hit
};

// A submitted IoQueue request. The bytes are copied at submit.
struct Pending {
  uint64_t seq = 0;  // submission order over all queues
  IoOp op = IoOp::kWrite;
  uint64_t tag = 0;
  uint64_t node = 0;
  uint64_t offset = 0;
  bool dsync = false;
  Bytes bytes;
  int err = 0;  // when set, the request completes with -err and changes nothing
};

struct Queue {
  std::vector<Pending> in_flight;  // oldest first
  bool woken = false;
  std::condition_variable cv;
};

// A write that was in flight when the power failed: at reboot its sectors may or may not land.
struct CutWrite {
  uint64_t seq = 0;
  uint64_t node = 0;
  uint64_t offset = 0;
  Bytes bytes;
};

}  // namespace

// The whole disk. Every member is guarded by `mu`, which each FileSystem and IoQueue call holds
// for its duration: the log calls in from its writer, segment preparer and reader threads.
class SimDisk::State {
 public:
  explicit State(SimDiskOptions options) : opt(options), rng(options.seed) {
    CAIRN_CHECK(opt.sector_bytes > 0);
    nodes[kRootId].is_dir = true;
  }

  // Counts one mutating operation. False when the power is (or just went) off: the caller fails.
  bool tick(std::string_view op, std::string_view detail) {
    if (cut) return false;
    ++ops;
    if ((cut_at && ops >= *cut_at) || window_armed) {
      cut_during =
          std::string(op) + " " + std::string(detail) +
          (window_armed ? " (right after a completion with another request in flight)" : "");
      power_off();
      return false;
    }
    return true;
  }

  // cut_in_flight_window(): a completion that leaves another request in flight arms the cut.
  void completed_one() {
    if (!window_after || ops < *window_after) return;
    size_t in_flight = 0;
    for (const auto& entry : queues) in_flight += entry.second->in_flight.size();
    if (in_flight > 1) window_armed = true;  // the one just completed is still listed
  }

  void power_off() {
    cut = true;
    cut_at.reset();
    for (auto& [id, q] : queues) {
      for (Pending& p : q->in_flight) {
        if (p.err == 0 && is_write(p.op)) {
          cut_writes.push_back({p.seq, p.node, p.offset, std::move(p.bytes)});
        }
        p.err = EIO;
      }
    }
    std::sort(cut_writes.begin(), cut_writes.end(),
              [](const CutWrite& a, const CutWrite& b) { return a.seq < b.seq; });
  }

  Node& node(uint64_t id) {
    auto it = nodes.find(id);
    CAIRN_CHECK(it != nodes.end());
    return it->second;
  }
  const Node& node(uint64_t id) const {
    auto it = nodes.find(id);
    CAIRN_CHECK(it != nodes.end());
    return it->second;
  }

  uint64_t new_node(bool is_dir) {
    const uint64_t id = next_id++;
    nodes[id].is_dir = is_dir;
    return id;
  }

  // The node at the first n components, through current entries: 0, or ENOENT when one is
  // missing, ENOTDIR when one before the last is a file.
  int find(const Parts& parts, size_t n, uint64_t* id) const {
    uint64_t cur = kRootId;
    for (size_t i = 0; i < n; ++i) {
      const Node& d = node(cur);
      if (!d.is_dir) return ENOTDIR;
      auto it = d.entries.find(parts[i]);
      if (it == d.entries.end()) return ENOENT;
      cur = it->second;
    }
    *id = cur;
    return 0;
  }

  // The directory that holds the last component (parts must not be empty).
  int find_parent(const Parts& parts, uint64_t* dir) const {
    if (int err = find(parts, parts.size() - 1, dir); err != 0) return err;
    return node(*dir).is_dir ? 0 : ENOTDIR;
  }

  Fd* find_fd(int fd) {
    auto it = fds.find(fd);
    return it == fds.end() ? nullptr : &it->second;
  }

  // A file's data change, made durable at once on an O_DSYNC fd.
  void write(Node& n, bool dsync, uint64_t offset, const std::byte* p, size_t len) {
    apply_write(n, opt.sector_bytes, offset, p, len);
    if (dsync) make_range_durable(n, opt.sector_bytes, offset, offset + len);
  }

  // Whether anything still names or uses the node: then it must be kept, since a reboot may find
  // it through a durable entry, or an fd or in-flight request may still reach it.
  bool referenced(uint64_t id) const {
    if (id == kRootId) return true;
    for (const auto& [num, f] : fds) {
      if (f.node == id) return true;
    }
    for (const auto& [qid, q] : queues) {
      for (const Pending& p : q->in_flight) {
        if (p.node == id) return true;
      }
    }
    for (const CutWrite& w : cut_writes) {
      if (w.node == id) return true;
    }
    for (const auto& [nid, n] : nodes) {
      for (const auto& e : n.entries) {
        if (e.second == id) return true;
      }
      for (const auto& e : n.durable_entries) {
        if (e.second == id) return true;
      }
    }
    return false;
  }

  // Drops a node nothing refers to any more (and then whatever only it referred to).
  void collect(uint64_t id) {
    if (referenced(id)) return;
    auto it = nodes.find(id);
    if (it == nodes.end()) return;
    std::vector<uint64_t> children;
    for (const auto& e : it->second.entries) children.push_back(e.second);
    for (const auto& e : it->second.durable_entries) children.push_back(e.second);
    nodes.erase(it);
    for (const uint64_t c : children) collect(c);
  }

  Pending make_pending(const IoRequest& r) {
    Pending p;
    p.seq = next_seq++;
    p.op = r.op;
    p.tag = r.tag;
    const Fd* fd = find_fd(r.fd);
    if (!tick("submit", fd != nullptr ? fd->path : "(bad fd)")) {
      p.err = EIO;
      return p;
    }
    if (fd == nullptr) {
      p.err = EBADF;
      return p;
    }
    p.node = fd->node;
    p.dsync = fd->flags.dsync;
    if (!is_write(r.op)) return p;
    if (!fd->flags.write) {
      p.err = EBADF;
    } else if (fd->flags.direct && !direct_aligned(r.buf, r.len, r.offset)) {
      p.err = EINVAL;
    } else {
      p.offset = r.offset;
      const auto* b = static_cast<const std::byte*>(r.buf);
      p.bytes.assign(b, b + r.len);
    }
    return p;
  }

  // Which in-flight requests of `q` a wait() completes, in completion order.
  std::vector<size_t> choose(const Queue& q, bool block, size_t max) {
    std::vector<size_t> order(q.in_flight.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (cut) {  // all of them fail at once
      order.resize(std::min(order.size(), max));
      return order;
    }
    if (opt.reorder_completions) {
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    }
    std::vector<size_t> chosen;
    for (size_t k = 0; k < order.size() && chosen.size() < max; ++k) {
      if ((block && k == 0) || chance(rng, opt.complete_probability_nonblocking)) {
        chosen.push_back(order[k]);
      } else if (!opt.reorder_completions) {
        break;  // oldest first: a later request never overtakes an earlier one
      }
    }
    return chosen;
  }

  // Completes one request: the bytes reach the file, and a sync makes the file durable.
  int64_t complete(Pending& p) {
    if (!tick("completion", "of request " + std::to_string(p.seq))) return -EIO;
    if (p.err != 0) return -p.err;
    completed_one();
    Node& n = node(p.node);
    switch (p.op) {
      case IoOp::kWrite:
        write(n, p.dsync, p.offset, p.bytes.data(), p.bytes.size());
        return static_cast<int64_t>(p.bytes.size());
      case IoOp::kWriteThenSync:
        write(n, p.dsync, p.offset, p.bytes.data(), p.bytes.size());
        make_durable(n);
        return static_cast<int64_t>(p.bytes.size());
      case IoOp::kSync:
        make_durable(n);
        return 0;
    }
    return -EINVAL;
  }

  std::unique_ptr<State> survivor(uint64_t seed, CutReport* report) const;

  mutable std::mutex mu;
  const SimDiskOptions opt;
  std::mt19937_64 rng;  // completion choices
  std::map<uint64_t, Node> nodes;
  uint64_t next_id = kRootId + 1;
  std::map<int, Fd> fds;
  int next_fd = kFirstFd;
  std::map<uint64_t, std::unique_ptr<Queue>> queues;
  uint64_t next_queue = 1;
  uint64_t next_seq = 1;
  uint64_t ops = 0;
  std::optional<uint64_t> cut_at;
  std::optional<uint64_t> window_after;  // cut_in_flight_window: armed from this many ops on
  bool window_armed = false;             // the next operation cuts the power
  bool cut = false;
  std::string cut_during;
  std::vector<CutWrite> cut_writes;  // in submission order
};

}  // namespace cairn::testing

namespace cairn::testing {
namespace {

using State = SimDisk::State;

// Paths under a_dir in `a` (through current entries) that do not name the same node under b_dir
// in `b`; all of them when b_dir is absent. `ancestors` keeps a directory reachable from itself
// (a rename across unsynced directories can make one) from being walked forever.
uint64_t paths_missing(const State& a, uint64_t a_dir, const State& b,
                       std::optional<uint64_t> b_dir, std::vector<uint64_t>& ancestors) {
  uint64_t missing = 0;
  ancestors.push_back(a_dir);
  for (const auto& [name, child] : a.node(a_dir).entries) {
    std::optional<uint64_t> match;
    if (b_dir) {
      const auto& entries = b.node(*b_dir).entries;
      if (auto it = entries.find(name); it != entries.end() && it->second == child) match = child;
    }
    if (!match) ++missing;
    if (a.node(child).is_dir &&
        std::find(ancestors.begin(), ancestors.end(), child) == ancestors.end()) {
      missing += paths_missing(a, child, b, match, ancestors);
    }
  }
  ancestors.pop_back();
  return missing;
}

// Each sector of a write that was in flight at the cut lands or not.
void land_sectors(const CutWrite& w, Node& file, uint64_t s, bool tear, std::mt19937_64& rng,
                  CutReport& report) {
  const uint64_t end = w.offset + w.bytes.size();
  for (uint64_t p = w.offset; p < end;) {
    const uint64_t e = std::min(end, (p / s + 1) * s);
    if (tear && coin(rng)) {
      if (file.data.size() < e) file.data.resize(e);
      std::memcpy(file.data.data() + p, w.bytes.data() + (p - w.offset), e - p);
      ++report.in_flight_sectors_landed;
    } else {
      ++report.in_flight_sectors_lost;
    }
    p = e;
  }
}

}  // namespace

std::unique_ptr<State> State::survivor(uint64_t seed, CutReport* report) const {
  SimDiskOptions o = opt;
  o.seed = seed;
  auto out = std::make_unique<State>(o);
  out->next_id = next_id;
  std::mt19937_64 tear_rng(seed);
  CutReport r;
  r.cut_during = cut_during;
  r.writes_in_flight = cut_writes.size();
  // The tree a reboot finds: from the root through durable entries only.
  std::set<uint64_t> reach{kRootId};
  std::vector<uint64_t> todo{kRootId};
  while (!todo.empty()) {
    const Node& n = node(todo.back());
    todo.pop_back();
    for (const auto& e : n.durable_entries) {
      if (reach.insert(e.second).second) todo.push_back(e.second);
    }
  }
  // Files in id order, sectors in offset order, in-flight writes in submission order: the draws
  // happen in the same order for the same cut disk, so the same seed gives the same image.
  for (const uint64_t id : reach) {
    const Node& n = node(id);
    Node& m = out->nodes[id];
    m.is_dir = n.is_dir;
    m.entries = m.durable_entries = n.durable_entries;
    if (!n.is_dir) m.data = surviving_content(n, opt.sector_bytes, opt.tear_sectors, tear_rng, r);
  }
  for (const CutWrite& w : cut_writes) {
    auto it = out->nodes.find(w.node);
    if (it == out->nodes.end() || it->second.is_dir) continue;  // the file did not survive
    land_sectors(w, it->second, opt.sector_bytes, opt.tear_sectors, tear_rng, r);
  }
  for (auto& entry : out->nodes) entry.second.durable_size = entry.second.data.size();
  std::vector<uint64_t> ancestors;
  r.entries_lost = paths_missing(*this, kRootId, *out, kRootId, ancestors);
  r.entries_revived = paths_missing(*out, kRootId, *this, kRootId, ancestors);
  if (report != nullptr) *report = std::move(r);
  return out;
}

namespace {

// log::FileSystem on the disk. Error codes and messages follow posix_file_system.cc.
class SimFileSystem final : public log::FileSystem {
 public:
  explicit SimFileSystem(std::shared_ptr<State> s) : s_(std::move(s)) {}

  Status create_dir(const std::string& path) override {
    std::lock_guard lock(s_->mu);
    const std::string what = "creating directory " + path;
    if (!s_->tick("create_dir", path)) return power_cut(what);
    const Parts parts = split_path(path);
    if (parts.empty()) return errno_status(EEXIST, what);
    uint64_t dir = 0;
    if (int err = s_->find_parent(parts, &dir); err != 0) return errno_status(err, what);
    if (s_->node(dir).entries.contains(parts.back())) return errno_status(EEXIST, what);
    const uint64_t id = s_->new_node(/*is_dir=*/true);
    s_->node(dir).entries[parts.back()] = id;
    return Status();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    std::lock_guard lock(s_->mu);
    const std::string what = "listing directory " + path;
    if (s_->cut) return power_cut(what);
    const Parts parts = split_path(path);
    uint64_t id = 0;
    if (int err = s_->find(parts, parts.size(), &id); err != 0) return errno_status(err, what);
    const Node& n = s_->node(id);
    if (!n.is_dir) return errno_status(ENOTDIR, what);
    std::vector<std::string> names;
    for (const auto& e : n.entries) names.push_back(e.first);
    return names;
  }

  Result<bool> exists(const std::string& path) override {
    std::lock_guard lock(s_->mu);
    if (s_->cut) return power_cut("stat " + path);
    const Parts parts = split_path(path);
    uint64_t id = 0;
    const int err = s_->find(parts, parts.size(), &id);
    if (err == ENOENT) return false;
    if (err != 0) return errno_status(err, "stat " + path);
    return true;
  }

  Result<int> open(const std::string& path, log::OpenFlags f) override {
    std::lock_guard lock(s_->mu);
    const std::string what = "opening " + path;
    if (f.create ? !s_->tick("open", path) : s_->cut) return power_cut(what);
    const Parts parts = split_path(path);
    if (parts.empty()) return errno_status(f.create && f.exclusive ? EEXIST : EISDIR, what);
    uint64_t dir = 0;
    if (int err = s_->find_parent(parts, &dir); err != 0) return errno_status(err, what);
    uint64_t id = 0;
    auto& entries = s_->node(dir).entries;
    if (auto it = entries.find(parts.back()); it != entries.end()) {
      if (f.create && f.exclusive) return errno_status(EEXIST, what);
      // A real open of a directory for reading succeeds; nothing here needs that, so refuse it.
      if (s_->node(it->second).is_dir) return errno_status(EISDIR, what);
      id = it->second;
    } else {
      if (!f.create) return errno_status(ENOENT, what);
      id = s_->new_node(/*is_dir=*/false);
      s_->node(dir).entries[parts.back()] = id;
    }
    const int fd = s_->next_fd++;
    s_->fds[fd] = Fd{id, f, path};
    return fd;
  }

  Status close(int fd) override {
    std::lock_guard lock(s_->mu);
    auto it = s_->fds.find(fd);
    if (it == s_->fds.end()) return errno_status(EBADF, "close");
    const uint64_t id = it->second.node;
    s_->fds.erase(it);
    Node& n = s_->node(id);
    if (n.lock_fd == fd) n.lock_fd = 0;
    s_->collect(id);
    return Status();
  }

  Result<size_t> pread(int fd, void* buf, size_t len, uint64_t offset) override {
    std::lock_guard lock(s_->mu);
    if (s_->cut) return power_cut("pread");
    const Fd* f = s_->find_fd(fd);
    if (f == nullptr) return errno_status(EBADF, "pread");
    if (f->flags.direct && !direct_aligned(buf, len, offset)) return errno_status(EINVAL, "pread");
    const Bytes& data = s_->node(f->node).data;
    if (offset >= data.size()) return size_t{0};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, data.size() - offset));
    std::memcpy(buf, data.data() + offset, n);
    return n;
  }

  Status pwrite(int fd, const void* buf, size_t len, uint64_t offset) override {
    std::lock_guard lock(s_->mu);
    const Fd* f = s_->find_fd(fd);
    if (!s_->tick("pwrite", f != nullptr ? f->path : "(bad fd)")) return power_cut("pwrite");
    if (f == nullptr || !f->flags.write) return errno_status(EBADF, "pwrite");
    if (f->flags.direct && !direct_aligned(buf, len, offset)) return errno_status(EINVAL, "pwrite");
    s_->write(s_->node(f->node), f->flags.dsync, offset, static_cast<const std::byte*>(buf), len);
    return Status();
  }

  Status fdatasync(int fd) override {
    std::lock_guard lock(s_->mu);
    const Fd* f = s_->find_fd(fd);
    if (!s_->tick("fdatasync", f != nullptr ? f->path : "(bad fd)")) return power_cut("fdatasync");
    if (f == nullptr) return errno_status(EBADF, "fdatasync");
    make_durable(s_->node(f->node));
    return Status();
  }

  Status fsync_dir(const std::string& path) override {
    std::lock_guard lock(s_->mu);
    if (!s_->tick("fsync_dir", path)) return power_cut("fsync of directory " + path);
    const Parts parts = split_path(path);
    uint64_t id = 0;
    if (int err = s_->find(parts, parts.size(), &id); err != 0) {
      return errno_status(err, "opening directory " + path);
    }
    Node& d = s_->node(id);
    if (!d.is_dir) return errno_status(ENOTDIR, "opening directory " + path);
    std::vector<uint64_t> dropped;
    for (const auto& e : d.durable_entries) dropped.push_back(e.second);
    d.durable_entries = d.entries;
    for (const uint64_t old : dropped) s_->collect(old);
    return Status();
  }

  Result<uint64_t> file_size(int fd) override {
    std::lock_guard lock(s_->mu);
    if (s_->cut) return power_cut("fstat");
    const Fd* f = s_->find_fd(fd);
    if (f == nullptr) return errno_status(EBADF, "fstat");
    return static_cast<uint64_t>(s_->node(f->node).data.size());
  }

  Status rename(const std::string& from, const std::string& to) override {
    std::lock_guard lock(s_->mu);
    const std::string what = "renaming " + from + " to " + to;
    if (!s_->tick("rename", from + " to " + to)) return power_cut(what);
    const Parts src = split_path(from);
    const Parts dst = split_path(to);
    if (src.empty() || dst.empty()) return errno_status(EBUSY, what);
    uint64_t src_dir = 0;
    uint64_t dst_dir = 0;
    if (int err = s_->find_parent(src, &src_dir); err != 0) return errno_status(err, what);
    auto& src_entries = s_->node(src_dir).entries;
    auto it = src_entries.find(src.back());
    if (it == src_entries.end()) return errno_status(ENOENT, what);
    if (int err = s_->find_parent(dst, &dst_dir); err != 0) return errno_status(err, what);
    const uint64_t id = it->second;
    const bool is_dir = s_->node(id).is_dir;
    if (is_dir && dst.size() > src.size() && std::equal(src.begin(), src.end(), dst.begin())) {
      return errno_status(EINVAL, what);  // into its own subtree
    }
    auto& dst_entries = s_->node(dst_dir).entries;
    std::optional<uint64_t> replaced;
    if (auto old = dst_entries.find(dst.back()); old != dst_entries.end()) {
      if (old->second == id) return Status();  // the same file: nothing to do
      const Node& target = s_->node(old->second);
      if (is_dir && !target.is_dir) return errno_status(ENOTDIR, what);
      if (!is_dir && target.is_dir) return errno_status(EISDIR, what);
      if (target.is_dir && !target.entries.empty()) return errno_status(ENOTEMPTY, what);
      replaced = old->second;
    }
    src_entries.erase(it);
    dst_entries[dst.back()] = id;
    if (replaced) s_->collect(*replaced);
    return Status();
  }

  Status remove(const std::string& path) override {
    std::lock_guard lock(s_->mu);
    const std::string what = "removing " + path;
    if (!s_->tick("remove", path)) return power_cut(what);
    const Parts parts = split_path(path);
    if (parts.empty()) return errno_status(EISDIR, what);
    uint64_t dir = 0;
    if (int err = s_->find_parent(parts, &dir); err != 0) return errno_status(err, what);
    auto& entries = s_->node(dir).entries;
    auto it = entries.find(parts.back());
    if (it == entries.end()) return errno_status(ENOENT, what);
    const uint64_t id = it->second;
    if (s_->node(id).is_dir) return errno_status(EISDIR, what);  // unlink(2), as the real one
    entries.erase(it);
    s_->collect(id);
    return Status();
  }

  Status lock(int fd) override {
    std::lock_guard lock(s_->mu);
    if (s_->cut) return power_cut("flock");
    const Fd* f = s_->find_fd(fd);
    if (f == nullptr) return errno_status(EBADF, "flock");
    Node& n = s_->node(f->node);
    if (n.lock_fd != 0 && n.lock_fd != fd) return errno_status(EWOULDBLOCK, "flock");
    n.lock_fd = fd;
    return Status();
  }

 private:
  std::shared_ptr<State> s_;
};

// log::IoQueue on the disk: requests stay in flight until a wait() completes them, in a seeded
// order, so a cut can find one or two of the writer's batches in flight.
class SimIoQueue final : public log::IoQueue {
 public:
  explicit SimIoQueue(std::shared_ptr<State> s) : s_(std::move(s)) {
    std::lock_guard lock(s_->mu);
    id_ = s_->next_queue++;
    s_->queues.emplace(id_, std::make_unique<Queue>());
  }

  ~SimIoQueue() override {
    std::lock_guard lock(s_->mu);
    // The kernel finishes a request even when nobody reaps it. (In place: a cut that one of
    // these completions triggers must still find the others in flight.)
    for (Pending& p : queue().in_flight) (void)s_->complete(p);
    const std::vector<Pending> rest = std::move(queue().in_flight);
    s_->queues.erase(id_);
    for (const Pending& p : rest) s_->collect(p.node);
  }

  Status submit(std::span<const IoRequest> requests) override {
    std::lock_guard lock(s_->mu);
    for (const IoRequest& r : requests) {
      Pending p = s_->make_pending(r);
      queue().in_flight.push_back(std::move(p));
    }
    return Status();
  }

  Result<size_t> wait(std::span<IoCompletion> out, bool block) override {
    std::unique_lock lock(s_->mu);
    Queue& q = queue();
    if (q.in_flight.empty()) {
      if (!block) return size_t{0};
      q.cv.wait(lock, [&] { return q.woken; });
      q.woken = false;
      return size_t{0};
    }
    std::vector<size_t> chosen = s_->choose(q, block, out.size());
    size_t n = 0;
    for (const size_t i : chosen)
      out[n++] = IoCompletion{q.in_flight[i].tag, s_->complete(q.in_flight[i])};
    std::sort(chosen.begin(), chosen.end());
    std::vector<uint64_t> nodes;
    for (size_t k = chosen.size(); k-- > 0;) {
      nodes.push_back(q.in_flight[chosen[k]].node);
      q.in_flight.erase(q.in_flight.begin() + static_cast<ptrdiff_t>(chosen[k]));
    }
    for (const uint64_t id : nodes) s_->collect(id);
    return n;
  }

  void wake() override {
    std::lock_guard lock(s_->mu);
    Queue& q = queue();
    q.woken = true;
    q.cv.notify_all();
  }

  const char* name() const override { return "sim"; }

 private:
  Queue& queue() { return *s_->queues.at(id_); }

  std::shared_ptr<State> s_;
  uint64_t id_ = 0;
};

// Copies the current tree under directory `id` into `real`.
Status export_dir(const State& s, uint64_t id, const std::filesystem::path& real,
                  std::vector<uint64_t>& ancestors) {
  std::error_code ec;
  std::filesystem::create_directories(real, ec);
  if (ec) return errno_status(ec.value(), "creating directory " + real.string());
  ancestors.push_back(id);
  for (const auto& [name, child] : s.node(id).entries) {
    const Node& n = s.node(child);
    const std::filesystem::path to = real / name;
    if (n.is_dir) {
      if (std::find(ancestors.begin(), ancestors.end(), child) != ancestors.end()) continue;
      CAIRN_RETURN_IF_ERROR(export_dir(s, child, to, ancestors));
      continue;
    }
    std::ofstream file(to, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(n.data.data()),
               static_cast<std::streamsize>(n.data.size()));
    file.close();
    if (!file) return errno_status(errno != 0 ? errno : EIO, "writing " + to.string());
  }
  ancestors.pop_back();
  return Status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SimDisk

std::shared_ptr<SimDisk> SimDisk::create(SimDiskOptions options) {
  return std::make_shared<SimDisk>(Key{}, options);
}

SimDisk::SimDisk(Key, SimDiskOptions options) : state_(std::make_unique<State>(options)) {}

SimDisk::~SimDisk() = default;

std::shared_ptr<log::FileSystem> SimDisk::file_system() {
  return std::make_shared<SimFileSystem>(std::shared_ptr<State>(shared_from_this(), state_.get()));
}

std::function<std::unique_ptr<log::IoQueue>()> SimDisk::io_queue_factory() {
  std::shared_ptr<State> s(shared_from_this(), state_.get());
  return [s]() -> std::unique_ptr<log::IoQueue> { return std::make_unique<SimIoQueue>(s); };
}

const SimDiskOptions& SimDisk::options() const {
  return state_->opt;
}

uint64_t SimDisk::operations() const {
  std::lock_guard lock(state_->mu);
  return state_->ops;
}

void SimDisk::cut_after(uint64_t n) {
  std::lock_guard lock(state_->mu);
  if (state_->cut) return;
  if (n == 0) {
    state_->cut_during = "cut_after(0)";
    state_->power_off();
    return;
  }
  state_->cut_at = state_->ops + n;
}

void SimDisk::cut_in_flight_window(uint64_t n) {
  std::lock_guard lock(state_->mu);
  if (state_->cut) return;
  state_->window_after = state_->ops + n;
  state_->window_armed = false;
}

void SimDisk::cut_now() {
  std::lock_guard lock(state_->mu);
  if (state_->cut) return;
  state_->cut_during = "cut_now";
  state_->power_off();
}

bool SimDisk::is_cut() const {
  std::lock_guard lock(state_->mu);
  return state_->cut;
}

size_t SimDisk::requests_in_flight() const {
  std::lock_guard lock(state_->mu);
  size_t n = 0;
  for (const auto& entry : state_->queues) n += entry.second->in_flight.size();
  return n;
}

std::shared_ptr<SimDisk> SimDisk::reboot(uint64_t seed, CutReport* report) {
  cut_now();
  std::unique_ptr<State> next;
  {
    std::lock_guard lock(state_->mu);
    next = state_->survivor(seed, report);
  }
  auto disk = create(next->opt);
  disk->state_ = std::move(next);
  return disk;
}

Status SimDisk::export_to(const std::string& sim_dir, const std::filesystem::path& real_dir) const {
  std::lock_guard lock(state_->mu);
  const Parts parts = split_path(sim_dir);
  uint64_t id = 0;
  if (int err = state_->find(parts, parts.size(), &id); err != 0) {
    return errno_status(err, "exporting " + sim_dir);
  }
  if (!state_->node(id).is_dir) return errno_status(ENOTDIR, "exporting " + sim_dir);
  std::vector<uint64_t> ancestors;
  return export_dir(*state_, id, real_dir, ancestors);
}

Result<std::string> SimDisk::read_file(const std::string& path) const {
  std::lock_guard lock(state_->mu);
  const Parts parts = split_path(path);
  uint64_t id = 0;
  if (int err = state_->find(parts, parts.size(), &id); err != 0) {
    return errno_status(err, "reading " + path);
  }
  const Node& n = state_->node(id);
  if (n.is_dir) return errno_status(EISDIR, "reading " + path);
  return std::string(reinterpret_cast<const char*>(n.data.data()), n.data.size());
}

Status SimDisk::write_file(const std::string& path, std::string_view bytes) {
  std::lock_guard lock(state_->mu);
  State& s = *state_;
  const std::string what = "writing " + path;
  if (s.cut) return power_cut(what);
  const Parts parts = split_path(path);
  if (parts.empty()) return errno_status(EISDIR, what);
  // Walk (and make) the path, making each entry on it durable, and only those.
  uint64_t cur = kRootId;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    Node& dir = s.node(cur);
    uint64_t id = 0;
    if (auto it = dir.entries.find(parts[i]); it != dir.entries.end()) {
      id = it->second;
      if (s.node(id).is_dir == last) return errno_status(last ? EISDIR : ENOTDIR, what);
    } else {
      id = s.new_node(/*is_dir=*/!last);
      dir.entries[parts[i]] = id;
    }
    std::optional<uint64_t> replaced;
    if (auto old = dir.durable_entries.find(parts[i]);
        old != dir.durable_entries.end() && old->second != id) {
      replaced = old->second;
    }
    dir.durable_entries[parts[i]] = id;
    if (replaced) s.collect(*replaced);
    cur = id;
  }
  Node& file = s.node(cur);
  const auto* b = reinterpret_cast<const std::byte*>(bytes.data());
  file.data.assign(b, b + bytes.size());
  make_durable(file);
  return Status();
}

Result<std::vector<std::string>> SimDisk::list(const std::string& path) const {
  std::lock_guard lock(state_->mu);
  const Parts parts = split_path(path);
  uint64_t id = 0;
  if (int err = state_->find(parts, parts.size(), &id); err != 0) {
    return errno_status(err, "listing " + path);
  }
  const Node& n = state_->node(id);
  if (!n.is_dir) return errno_status(ENOTDIR, "listing " + path);
  std::vector<std::string> names;
  for (const auto& e : n.entries) names.push_back(e.first);
  return names;
}

}  // namespace cairn::testing
