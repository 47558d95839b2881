// Unit tests of SimDisk's model (tests/support/sim_disk.h): what survives a power cut (synced
// data, fsynced directory entries, O_DSYNC writes), how in-flight and unsynced sectors tear per
// seed, the cut's timing, O_DIRECT checks, locks and POSIX-like errors, and a log on top of it.
#include "support/sim_disk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cairn/log/log.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::testing {
namespace {

using log::IoCompletion;
using log::IoOp;
using log::IoRequest;
using log::OpenFlags;

constexpr OpenFlags kCreate{.write = true, .create = true};
constexpr OpenFlags kWrite{.write = true};

// A 4 KiB-aligned buffer for O_DIRECT calls.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t len, char fill)
      : len_(len), p_(static_cast<std::byte*>(std::aligned_alloc(4096, len + 4096))) {
    std::memset(p_.get(), fill, len + 4096);
  }
  std::byte* data() { return p_.get(); }
  size_t size() const { return len_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  size_t len_;
  std::unique_ptr<std::byte, Free> p_;
};

SimDiskOptions no_tearing() {
  SimDiskOptions o;
  o.tear_sectors = false;
  return o;
}

class SimDiskTest : public ::testing::Test {
 protected:
  void use(SimDiskOptions options) {
    disk_ = SimDisk::create(options);
    fs_ = disk_->file_system();
  }

  int open(const std::string& path, OpenFlags flags = kWrite) {
    Result<int> fd = fs_->open(path, flags);
    EXPECT_TRUE(fd.ok()) << fd.status().to_string();
    return fd.ok() ? *fd : -1;
  }

  void pwrite(int fd, std::string_view bytes, uint64_t offset) {
    Status st = fs_->pwrite(fd, bytes.data(), bytes.size(), offset);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }

  // Creates `path` with `bytes`, its data synced and its entry durable.
  void durable_file(const std::string& path, std::string_view bytes) {
    const int fd = open(path, kCreate);
    pwrite(fd, bytes, 0);
    EXPECT_TRUE(fs_->fdatasync(fd).ok());
    EXPECT_TRUE(fs_->close(fd).ok());
    EXPECT_TRUE(fs_->fsync_dir(parent_of(path)).ok());
  }

  static std::string parent_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
  }

  // Submits and waits until every request completed; returns the results by tag.
  static std::map<uint64_t, int64_t> run(log::IoQueue& q, std::vector<IoRequest> requests) {
    EXPECT_TRUE(q.submit(requests).ok());
    std::map<uint64_t, int64_t> results;
    while (results.size() < requests.size()) {
      IoCompletion done[8];
      Result<size_t> n = q.wait(done, /*block=*/true);
      EXPECT_TRUE(n.ok());
      if (!n.ok()) break;
      for (size_t i = 0; i < *n; ++i) results[done[i].tag] = done[i].result;
    }
    return results;
  }

  static std::string content(SimDisk& disk, const std::string& path) {
    Result<std::string> r = disk.read_file(path);
    if (r.ok()) return *r;
    std::string error = "<";
    error += r.status().to_string();
    error += '>';
    return error;
  }

  static bool exists(SimDisk& disk, const std::string& path) { return disk.read_file(path).ok(); }

  std::shared_ptr<SimDisk> disk_ = SimDisk::create(no_tearing());
  std::shared_ptr<log::FileSystem> fs_ = disk_->file_system();
};

// ---------------------------------------------------------------------------------------------
// Data durability

TEST_F(SimDiskTest, UnsyncedDataIsLostAndSyncedDataKept) {
  durable_file("/f", std::string(1000, 'a'));
  const int fd = open("/f");
  pwrite(fd, std::string(10, 'b'), 0);      // overwrite, not synced
  pwrite(fd, std::string(600, 'c'), 1000);  // extension, not synced
  EXPECT_EQ(content(*disk_, "/f"),
            std::string(10, 'b') + std::string(990, 'a') + std::string(600, 'c'));

  CutReport report;
  auto after = disk_->reboot(1, &report);
  EXPECT_EQ(content(*after, "/f"), std::string(1000, 'a'));
  EXPECT_EQ(report.sectors_new, 0u);
  EXPECT_GT(report.sectors_old, 0u);
}

TEST_F(SimDiskTest, FdatasyncMakesTheCurrentContentDurable) {
  durable_file("/f", std::string(1000, 'o'));
  const int fd = open("/f");
  pwrite(fd, std::string(600, 'x'), 200);  // overwrites and extends
  pwrite(fd, std::string(4000, 'y'), 800);
  ASSERT_TRUE(fs_->fdatasync(fd).ok());
  pwrite(fd, "late", 0);
  pwrite(fd, "late", 4800);
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/f"),
            std::string(200, 'o') + std::string(600, 'x') + std::string(4000, 'y'));
}

TEST_F(SimDiskTest, DsyncFdWritesAreDurableAtOnce) {
  durable_file("/f", std::string(100, 'a'));
  const int fd = open("/f", OpenFlags{.write = true, .dsync = true});
  pwrite(fd, "BBBB", 50);    // inside the file
  pwrite(fd, "CCCC", 2000);  // past its end: the gap reads as zeros
  auto after = disk_->reboot(1);
  std::string want = std::string(50, 'a') + "BBBB" + std::string(46, 'a');
  want.append(1900, '\0');
  want += "CCCC";
  EXPECT_EQ(content(*after, "/f"), want);
}

TEST_F(SimDiskTest, DsyncWriteDoesNotMakeOtherUnsyncedBytesOfItsSectorDurable) {
  durable_file("/f", std::string(512, 'a'));
  pwrite(open("/f"), "plain", 0);
  pwrite(open("/f", OpenFlags{.write = true, .dsync = true}), "dsync", 100);
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/f"), std::string(100, 'a') + "dsync" + std::string(407, 'a'));
}

// ---------------------------------------------------------------------------------------------
// Directory entries

TEST_F(SimDiskTest, CreatedFileIsGoneWithoutDirectorySyncEvenWhenItsDataWasSynced) {
  const int fd = open("/f", kCreate);
  pwrite(fd, "data", 0);
  ASSERT_TRUE(fs_->fdatasync(fd).ok());
  CutReport report;
  auto after = disk_->reboot(1, &report);
  EXPECT_FALSE(exists(*after, "/f"));
  EXPECT_EQ(report.entries_lost, 1u);
  Result<bool> seen = after->file_system()->exists("/f");
  ASSERT_TRUE(seen.ok());
  EXPECT_FALSE(*seen);
}

TEST_F(SimDiskTest, CreatedFileSurvivesOnceItsDirectoryIsSynced) {
  const int fd = open("/f", kCreate);
  pwrite(fd, "data", 0);
  ASSERT_TRUE(fs_->fdatasync(fd).ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  EXPECT_EQ(content(*disk_->reboot(1), "/f"), "data");
}

TEST_F(SimDiskTest, RenameWithoutDirectorySyncKeepsTheOldName) {
  durable_file("/a", "x");
  ASSERT_TRUE(fs_->rename("/a", "/b").ok());
  EXPECT_FALSE(exists(*disk_, "/a"));
  CutReport report;
  auto after = disk_->reboot(1, &report);
  EXPECT_EQ(content(*after, "/a"), "x");
  EXPECT_FALSE(exists(*after, "/b"));
  EXPECT_EQ(report.entries_lost, 1u);
  EXPECT_EQ(report.entries_revived, 1u);
}

TEST_F(SimDiskTest, RenameWithDirectorySyncHasTheNewName) {
  durable_file("/a", "x");
  ASSERT_TRUE(fs_->rename("/a", "/b").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  auto after = disk_->reboot(1);
  EXPECT_FALSE(exists(*after, "/a"));
  EXPECT_EQ(content(*after, "/b"), "x");
}

TEST_F(SimDiskTest, RenameOverAnExistingFileIsUndoneWithoutSync) {
  durable_file("/a", "new");
  durable_file("/b", "old");
  ASSERT_TRUE(fs_->rename("/a", "/b").ok());
  EXPECT_EQ(content(*disk_, "/b"), "new");
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/a"), "new");
  EXPECT_EQ(content(*after, "/b"), "old");
}

TEST_F(SimDiskTest, RenameAcrossDirectoriesIsDurableSideBySide) {
  ASSERT_TRUE(fs_->create_dir("/x").ok());
  ASSERT_TRUE(fs_->create_dir("/y").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  durable_file("/x/f", "data");
  ASSERT_TRUE(fs_->rename("/x/f", "/y/f").ok());

  // Only the destination synced: the file is in both places after the cut, and is one file.
  ASSERT_TRUE(fs_->fsync_dir("/y").ok());
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/x/f"), "data");
  EXPECT_EQ(content(*after, "/y/f"), "data");
  auto fs = after->file_system();
  Result<int> fd = fs->open("/x/f", kWrite);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(fs->pwrite(*fd, "DA", 2, 0).ok());
  EXPECT_EQ(content(*after, "/y/f"), "DAta");
}

TEST_F(SimDiskTest, RenameAcrossDirectoriesWithOnlyTheSourceSyncedLosesTheFile) {
  ASSERT_TRUE(fs_->create_dir("/x").ok());
  ASSERT_TRUE(fs_->create_dir("/y").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  durable_file("/x/f", "data");
  ASSERT_TRUE(fs_->rename("/x/f", "/y/f").ok());
  ASSERT_TRUE(fs_->fsync_dir("/x").ok());
  auto after = disk_->reboot(1);
  EXPECT_FALSE(exists(*after, "/x/f"));
  EXPECT_FALSE(exists(*after, "/y/f"));
}

TEST_F(SimDiskTest, CreatedDirectoryIsGoneWithEverythingInItWithoutParentSync) {
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  durable_file("/d/f", "data");  // synced data and synced /d, but "/" was not synced
  CutReport report;
  auto after = disk_->reboot(1, &report);
  EXPECT_FALSE(after->list("/d").ok());
  EXPECT_EQ(report.entries_lost, 2u);

  use(no_tearing());  // the same, with "/" synced
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  durable_file("/d/f", "data");
  EXPECT_EQ(content(*disk_->reboot(1), "/d/f"), "data");
}

TEST_F(SimDiskTest, NewDirectoryHasNoDurableEntriesOfItsOwn) {
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  const int fd = open("/d/f", kCreate);
  ASSERT_TRUE(fs_->fdatasync(fd).ok());
  auto after = disk_->reboot(1);
  Result<std::vector<std::string>> names = after->list("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(SimDiskTest, RemoveIsUndoneWithoutDirectorySync) {
  durable_file("/f", "data");
  ASSERT_TRUE(fs_->remove("/f").ok());
  EXPECT_EQ(content(*disk_->reboot(1), "/f"), "data");
  use(no_tearing());
  durable_file("/f", "data");
  ASSERT_TRUE(fs_->remove("/f").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  EXPECT_FALSE(exists(*disk_->reboot(1), "/f"));
}

// ---------------------------------------------------------------------------------------------
// IoQueue

TEST_F(SimDiskTest, QueueWritesOnDsyncFdAreDurableAtCompletionOthersNot) {
  durable_file("/plain", "");
  durable_file("/dsync", "");
  const int plain = open("/plain");
  const int dsync = open("/dsync", OpenFlags{.write = true, .dsync = true});
  auto q = disk_->io_queue_factory()();
  const std::string bytes(700, 'w');
  std::map<uint64_t, int64_t> r =
      run(*q, {IoRequest{IoOp::kWrite, plain, bytes.data(), 700, 0, 1},
               IoRequest{IoOp::kWrite, dsync, bytes.data(), 700, 0, 2}});
  EXPECT_EQ(r[1], 700);
  EXPECT_EQ(r[2], 700);
  EXPECT_EQ(content(*disk_, "/plain"), bytes);  // visible to processes
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/plain"), "");
  EXPECT_EQ(content(*after, "/dsync"), bytes);
}

TEST_F(SimDiskTest, QueueSyncAndWriteThenSyncMakePlainWritesDurable) {
  durable_file("/a", "");
  durable_file("/b", "");
  const int a = open("/a");
  const int b = open("/b");
  auto q = disk_->io_queue_factory()();
  const std::string bytes(1024, 'w');
  run(*q, {IoRequest{IoOp::kWrite, a, bytes.data(), 1024, 0, 1}});
  std::map<uint64_t, int64_t> r =
      run(*q, {IoRequest{IoOp::kSync, a, nullptr, 0, 0, 2},
               IoRequest{IoOp::kWriteThenSync, b, bytes.data(), 1024, 0, 3}});
  EXPECT_EQ(r[2], 0);
  EXPECT_EQ(r[3], 1024);
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/a"), bytes);
  EXPECT_EQ(content(*after, "/b"), bytes);
}

TEST_F(SimDiskTest, SubmittedWritesReachTheFileOnlyWhenCompleted) {
  durable_file("/f", "");
  const int fd = open("/f");
  auto q = disk_->io_queue_factory()();
  std::string bytes(512, 'w');
  IoRequest r{IoOp::kWrite, fd, bytes.data(), 512, 0, 7};
  ASSERT_TRUE(q->submit({&r, 1}).ok());
  bytes.assign(512, 'X');  // the disk copied the bytes at submit
  EXPECT_EQ(content(*disk_, "/f"), "");
  EXPECT_EQ(disk_->requests_in_flight(), 1u);
  IoCompletion done[4];
  Result<size_t> n = q->wait(done, /*block=*/true);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(done[0].tag, 7u);
  EXPECT_EQ(content(*disk_, "/f"), std::string(512, 'w'));
  EXPECT_EQ(disk_->requests_in_flight(), 0u);
}

TEST_F(SimDiskTest, NonBlockingWaitCompletesPerProbability) {
  SimDiskOptions o = no_tearing();
  o.complete_probability_nonblocking = 0;
  use(o);
  durable_file("/f", "");
  const int fd = open("/f");
  auto q = disk_->io_queue_factory()();
  IoRequest r{IoOp::kSync, fd, nullptr, 0, 0, 1};
  ASSERT_TRUE(q->submit({&r, 1}).ok());
  IoCompletion done[4];
  for (int i = 0; i < 50; ++i) {
    Result<size_t> n = q->wait(done, /*block=*/false);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
  }
  Result<size_t> n = q->wait(done, /*block=*/true);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);

  o.complete_probability_nonblocking = 1;
  use(o);
  durable_file("/f", "");
  const int fd2 = open("/f");
  auto q2 = disk_->io_queue_factory()();
  IoRequest two[2] = {{IoOp::kSync, fd2, nullptr, 0, 0, 1}, {IoOp::kSync, fd2, nullptr, 0, 0, 2}};
  ASSERT_TRUE(q2->submit(two).ok());
  n = q2->wait(done, /*block=*/false);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
}

// The tags of three requests in the order one queue completes them, one per blocking wait.
std::vector<uint64_t> completion_order(SimDiskOptions o) {
  o.complete_probability_nonblocking = 0;  // so each blocking wait completes exactly one
  auto disk = SimDisk::create(o);
  auto fs = disk->file_system();
  const int fd = *fs->open("/f", kCreate);
  auto q = disk->io_queue_factory()();
  IoRequest rs[3] = {{IoOp::kSync, fd, nullptr, 0, 0, 1},
                     {IoOp::kSync, fd, nullptr, 0, 0, 2},
                     {IoOp::kSync, fd, nullptr, 0, 0, 3}};
  EXPECT_TRUE(q->submit(rs).ok());
  std::vector<uint64_t> order;
  for (int i = 0; i < 3; ++i) {
    IoCompletion done[4];
    Result<size_t> n = q->wait(done, /*block=*/true);
    EXPECT_TRUE(n.ok() && *n == 1);
    order.push_back(done[0].tag);
  }
  return order;
}

TEST_F(SimDiskTest, CompletionsComeOldestFirstWithoutReordering) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SimDiskOptions o;
    o.seed = seed;
    o.reorder_completions = false;
    EXPECT_EQ(completion_order(o), (std::vector<uint64_t>{1, 2, 3}));
  }
}

TEST_F(SimDiskTest, CompletionOrderIsSeededWithReordering) {
  std::set<std::vector<uint64_t>> orders;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SimDiskOptions o;
    o.seed = seed;
    const std::vector<uint64_t> order = completion_order(o);
    EXPECT_EQ(order, completion_order(o));  // same seed, same order
    orders.insert(order);
  }
  EXPECT_GT(orders.size(), 3u);
}

TEST_F(SimDiskTest, WakeEndsABlockingWaitWithNothingInFlight) {
  auto q = disk_->io_queue_factory()();
  q->wake();  // a wake before the wait is not lost
  IoCompletion done[4];
  Result<size_t> n = q->wait(done, /*block=*/true);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);

  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    Result<size_t> m = q->wait(done, /*block=*/true);
    EXPECT_TRUE(m.ok() && *m == 0);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(returned.load());
  q->wake();
  waiter.join();
  EXPECT_TRUE(returned.load());
}

TEST_F(SimDiskTest, QueueReportsBadRequestsAsErrors) {
  durable_file("/f", "");
  const int ro = open("/f", OpenFlags{});
  auto q = disk_->io_queue_factory()();
  std::string bytes(512, 'w');
  std::map<uint64_t, int64_t> r = run(*q, {IoRequest{IoOp::kWrite, ro, bytes.data(), 512, 0, 1},
                                           IoRequest{IoOp::kSync, 12345, nullptr, 0, 0, 2}});
  EXPECT_EQ(r[1], -EBADF);
  EXPECT_EQ(r[2], -EBADF);
  EXPECT_EQ(content(*disk_, "/f"), "");
}

// ---------------------------------------------------------------------------------------------
// Tearing

// A durable file of eight sectors of '.', then a write of eight sectors of 'N' left in flight
// (queue = true) or written and not synced (queue = false), then the cut.
std::shared_ptr<SimDisk> cut_with_pending_write(bool queue) {
  auto disk = SimDisk::create();
  EXPECT_TRUE(disk->write_file("/f", std::string(4096, '.')).ok());
  auto fs = disk->file_system();
  const int fd = *fs->open("/f", kWrite);
  static const std::string kNew(4096, 'N');
  if (queue) {
    auto q = disk->io_queue_factory()();
    IoRequest r{IoOp::kWriteThenSync, fd, kNew.data(), 4096, 0, 1};
    EXPECT_TRUE(q->submit({&r, 1}).ok());
    disk->cut_now();
  } else {
    EXPECT_TRUE(fs->pwrite(fd, kNew.data(), kNew.size(), 0).ok());
    disk->cut_now();
  }
  return disk;
}

// Each sector's outcome ('N' new, '.' old) or '?' for a sector that is neither.
std::string sector_outcomes(const std::string& content) {
  std::string out;
  for (size_t s = 0; s < content.size(); s += 512) {
    const std::string sector = content.substr(s, 512);
    if (sector == std::string(512, 'N')) {
      out += 'N';
    } else if (sector == std::string(512, '.')) {
      out += '.';
    } else {
      out += '?';
    }
  }
  return out;
}

void expect_sector_tearing(bool queue) {
  auto cut = cut_with_pending_write(queue);
  std::set<std::string> images;
  std::array<std::set<char>, 8> seen;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    CutReport report;
    const std::string a = *cut->reboot(seed, &report)->read_file("/f");
    const std::string b = *cut->reboot(seed)->read_file("/f");
    EXPECT_EQ(a, b) << "seed " << seed;
    ASSERT_EQ(a.size(), 4096u);
    const std::string outcome = sector_outcomes(a);
    EXPECT_EQ(outcome.find('?'), std::string::npos) << outcome;
    for (size_t i = 0; i < 8; ++i) seen[i].insert(outcome[i]);
    images.insert(a);
    const uint64_t news = static_cast<uint64_t>(std::count(outcome.begin(), outcome.end(), 'N'));
    if (queue) {
      EXPECT_EQ(report.writes_in_flight, 1u);
      EXPECT_EQ(report.in_flight_sectors_landed, news);
      EXPECT_EQ(report.in_flight_sectors_lost, 8 - news);
    } else {
      EXPECT_EQ(report.writes_in_flight, 0u);
      EXPECT_EQ(report.sectors_new, news);
      EXPECT_EQ(report.sectors_old, 8 - news);
    }
  }
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(seen[i].size(), 2u) << "sector " << i;
  EXPECT_GT(images.size(), 10u);
}

TEST(SimDiskTearing, InFlightWritesLandSectorBySectorPerSeed) {
  expect_sector_tearing(/*queue=*/true);
}

TEST(SimDiskTearing, UnsyncedSectorsTearPerSeed) {
  expect_sector_tearing(/*queue=*/false);
}

TEST(SimDiskTearing, WithoutTearingNothingUnsyncedOrInFlightSurvives) {
  for (const bool queue : {true, false}) {
    auto disk = SimDisk::create(no_tearing());
    ASSERT_TRUE(disk->write_file("/f", "").ok());
    auto fs = disk->file_system();
    const int fd = *fs->open("/f", kWrite);
    static const std::string kNew(4096, 'N');
    auto q = disk->io_queue_factory()();
    IoRequest r{IoOp::kWrite, fd, kNew.data(), 4096, 0, 1};
    if (queue) {
      ASSERT_TRUE(q->submit({&r, 1}).ok());
    } else {
      ASSERT_TRUE(fs->pwrite(fd, kNew.data(), kNew.size(), 0).ok());
    }
    for (uint64_t seed = 0; seed < 8; ++seed) {
      EXPECT_EQ(*disk->reboot(seed)->read_file("/f"), "") << "queue " << queue;
    }
  }
}

TEST(SimDiskTearing, ATornSectorPastTheDurableSizeExtendsTheFileWithZeros) {
  auto disk = SimDisk::create();
  ASSERT_TRUE(disk->write_file("/f", "").ok());
  auto fs = disk->file_system();
  const int fd = *fs->open("/f", kWrite);
  const std::string bytes(4096, 'N');
  ASSERT_TRUE(fs->pwrite(fd, bytes.data(), bytes.size(), 0).ok());
  disk->cut_now();
  bool saw_gap = false;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    const std::string f = *disk->reboot(seed)->read_file("/f");
    ASSERT_EQ(f.size() % 512, 0u);
    const std::string outcome = sector_outcomes(f);
    if (f.empty()) continue;
    EXPECT_EQ(outcome.back(), 'N');  // the size ends at the last torn-in sector
    for (size_t i = 0; i < outcome.size(); ++i) {
      if (outcome[i] == 'N') continue;
      EXPECT_EQ(f.substr(i * 512, 512), std::string(512, '\0'));
      saw_gap = true;
    }
  }
  EXPECT_TRUE(saw_gap);
}

// ---------------------------------------------------------------------------------------------
// Power cuts

void expect_power_cut(const Status& st) {
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.to_string();
  EXPECT_NE(st.message().find("simulated power cut"), std::string::npos) << st.to_string();
}

TEST_F(SimDiskTest, EveryCallButCloseFailsAfterTheCut) {
  durable_file("/f", "data");
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  const int fd = open("/f");
  auto q = disk_->io_queue_factory()();
  const std::string bytes(512, 'w');
  IoRequest before{IoOp::kWriteThenSync, fd, bytes.data(), 512, 0, 1};
  ASSERT_TRUE(q->submit({&before, 1}).ok());
  disk_->cut_now();
  EXPECT_TRUE(disk_->is_cut());

  char buf[16];
  expect_power_cut(fs_->create_dir("/e"));
  expect_power_cut(fs_->list_dir("/").status());
  expect_power_cut(fs_->exists("/f").status());
  expect_power_cut(fs_->open("/f", OpenFlags{}).status());
  expect_power_cut(fs_->open("/g", kCreate).status());
  expect_power_cut(fs_->pread(fd, buf, sizeof buf, 0).status());
  expect_power_cut(fs_->pwrite(fd, "x", 1, 0));
  expect_power_cut(fs_->fdatasync(fd));
  expect_power_cut(fs_->fsync_dir("/"));
  expect_power_cut(fs_->file_size(fd).status());
  expect_power_cut(fs_->rename("/f", "/g"));
  expect_power_cut(fs_->remove("/f"));
  expect_power_cut(fs_->lock(fd));
  EXPECT_TRUE(fs_->close(fd).ok());
  EXPECT_EQ(fs_->close(fd).code(), StatusCode::kIoError);  // EBADF: released

  // The request in flight and one submitted after the cut both complete with -EIO.
  IoRequest after{IoOp::kSync, fd, nullptr, 0, 0, 2};
  ASSERT_TRUE(q->submit({&after, 1}).ok());
  IoCompletion done[4];
  Result<size_t> n = q->wait(done, /*block=*/false);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(done[0].result, -EIO);
  EXPECT_EQ(done[1].result, -EIO);
  EXPECT_EQ(content(*disk_, "/f"), "data");  // the write never reached the file
}

TEST_F(SimDiskTest, OnlyMutatingOperationsCount) {
  const uint64_t start = disk_->operations();
  const int fd = open("/f", kCreate);           // 1
  pwrite(fd, "x", 0);                           // 2
  ASSERT_TRUE(fs_->fdatasync(fd).ok());         // 3
  ASSERT_TRUE(fs_->fsync_dir("/").ok());        // 4
  ASSERT_TRUE(fs_->create_dir("/d").ok());      // 5
  ASSERT_TRUE(fs_->rename("/f", "/d/f").ok());  // 6
  char buf[4];
  ASSERT_TRUE(fs_->pread(fd, buf, 1, 0).ok());
  ASSERT_TRUE(fs_->exists("/d").ok());
  ASSERT_TRUE(fs_->list_dir("/d").ok());
  ASSERT_TRUE(fs_->file_size(fd).ok());
  ASSERT_TRUE(fs_->lock(fd).ok());
  const int ro = open("/d/f", OpenFlags{});  // no create: not counted
  ASSERT_TRUE(fs_->close(ro).ok());
  EXPECT_EQ(disk_->operations() - start, 6u);
  ASSERT_TRUE(fs_->remove("/d/f").ok());  // 7
  auto q = disk_->io_queue_factory()();
  run(*q, {IoRequest{IoOp::kSync, fd, nullptr, 0, 0, 1}});  // 8 (submit) and 9 (completion)
  EXPECT_EQ(disk_->operations() - start, 9u);
}

// A script of mutating operations; returns the 1-based index of the first that failed (0: none).
size_t first_failure(SimDisk& disk) {
  auto fs = disk.file_system();
  auto q = disk.io_queue_factory()();
  Result<int> fd = fs->open("/f", kCreate);
  if (!fd.ok()) return 1;
  if (!fs->pwrite(*fd, "abc", 3, 0).ok()) return 2;
  if (!fs->fdatasync(*fd).ok()) return 3;
  const std::string bytes = "queued";
  IoRequest r{IoOp::kWriteThenSync, *fd, bytes.data(), 6, 3, 1};
  if (!q->submit({&r, 1}).ok()) return 4;
  IoCompletion done[2];
  Result<size_t> n = q->wait(done, /*block=*/true);
  if (!n.ok() || *n != 1) return 100;
  if (done[0].result < 0) {
    return done[0].result == -EIO ? (disk.operations() == 4 ? 4 : 5) : 100;
  }
  if (!fs->fsync_dir("/").ok()) return 6;
  if (!fs->create_dir("/d").ok()) return 7;
  if (!fs->rename("/f", "/d/f").ok()) return 8;
  if (!fs->remove("/d/f").ok()) return 9;
  return 0;
}

TEST_F(SimDiskTest, CutAfterFailsExactlyTheNthOperation) {
  for (uint64_t n = 1; n <= 9; ++n) {
    auto disk = SimDisk::create(no_tearing());
    disk->cut_after(n);
    EXPECT_EQ(first_failure(*disk), n) << "cut_after(" << n << ")";
    EXPECT_TRUE(disk->is_cut());
    EXPECT_EQ(disk->operations(), n);
  }
  auto disk = SimDisk::create(no_tearing());
  disk->cut_after(10);
  EXPECT_EQ(first_failure(*disk), 0u);
  EXPECT_FALSE(disk->is_cut());
}

TEST_F(SimDiskTest, CutAfterCountsFromNow) {
  durable_file("/f", "x");
  const uint64_t start = disk_->operations();
  disk_->cut_after(2);
  const int fd = open("/f");
  pwrite(fd, "a", 0);
  expect_power_cut(fs_->pwrite(fd, "b", 1, 0));
  EXPECT_EQ(disk_->operations(), start + 2);
  CutReport report;
  auto after = disk_->reboot(3, &report);
  EXPECT_EQ(report.cut_during, "pwrite /f");
}

TEST_F(SimDiskTest, AWriteCompletionCutByThePowerIsAWriteInFlight) {
  durable_file("/f", std::string(1024, '.'));
  auto q = disk_->io_queue_factory()();
  const int fd = open("/f");
  const std::string bytes(1024, 'N');
  IoRequest r{IoOp::kWriteThenSync, fd, bytes.data(), 1024, 0, 1};
  ASSERT_TRUE(q->submit({&r, 1}).ok());
  disk_->cut_after(1);  // the completion
  IoCompletion done[2];
  Result<size_t> n = q->wait(done, /*block=*/true);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(done[0].result, -EIO);
  CutReport report;
  disk_->reboot(1, &report);
  EXPECT_EQ(report.writes_in_flight, 1u);
}

TEST_F(SimDiskTest, RebootedDiskIsLiveAndIndependent) {
  durable_file("/f", "data");
  auto after = disk_->reboot(1);
  EXPECT_FALSE(after->is_cut());
  auto fs = after->file_system();
  Result<int> fd = fs->open("/f", kWrite);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(fs->pwrite(*fd, "D", 1, 0).ok());
  EXPECT_EQ(content(*after, "/f"), "Data");
  EXPECT_EQ(content(*disk_, "/f"), "data");
  EXPECT_EQ(after->options().seed, 1u);
}

// ---------------------------------------------------------------------------------------------
// O_DIRECT, locks, fds, errors, paths

TEST_F(SimDiskTest, DirectFdsRequireAlignedBuffersOffsetsAndLengths) {
  durable_file("/f", "");
  const int fd = open("/f", OpenFlags{.write = true, .direct = true});
  AlignedBuffer buf(8192, 'd');
  EXPECT_TRUE(fs_->pwrite(fd, buf.data(), 4096, 4096).ok());
  EXPECT_EQ(fs_->pwrite(fd, buf.data() + 512, 4096, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->pwrite(fd, buf.data(), 4096, 512).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->pwrite(fd, buf.data(), 1000, 0).code(), StatusCode::kInvalidArgument);
  Result<size_t> got = fs_->pread(fd, buf.data(), 8192, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 8192u);
  EXPECT_EQ(fs_->pread(fd, buf.data() + 8, 4096, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->pread(fd, buf.data(), 4096, 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->pread(fd, buf.data(), 100, 0).status().code(), StatusCode::kInvalidArgument);

  // The queue reports -EINVAL and writes nothing.
  const std::string before = content(*disk_, "/f");
  auto q = disk_->io_queue_factory()();
  std::map<uint64_t, int64_t> r = run(*q, {IoRequest{IoOp::kWrite, fd, buf.data() + 1, 4096, 0, 1},
                                           IoRequest{IoOp::kWrite, fd, buf.data(), 4096, 0, 2}});
  EXPECT_EQ(r[1], -EINVAL);
  EXPECT_EQ(r[2], 4096);

  // A plain fd on the same file has no such rule.
  const int plain = open("/f");
  EXPECT_TRUE(fs_->pwrite(plain, "x", 1, 3).ok());
}

TEST_F(SimDiskTest, LockIsExclusivePerFileUntilClose) {
  durable_file("/lock", "");
  durable_file("/other", "");
  const int a = open("/lock");
  const int b = open("/lock");
  const int c = open("/other");
  EXPECT_TRUE(fs_->lock(a).ok());
  EXPECT_TRUE(fs_->lock(a).ok());  // again through the same fd
  EXPECT_EQ(fs_->lock(b).code(), StatusCode::kLocked);
  EXPECT_TRUE(fs_->lock(c).ok());
  ASSERT_TRUE(fs_->close(a).ok());
  EXPECT_TRUE(fs_->lock(b).ok());
}

TEST_F(SimDiskTest, FdsNeverCollideWithRealDescriptors) {
  durable_file("/f", "");
  const int fd = open("/f");
  EXPECT_GE(fd, 1'000'000);
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(fs_->pwrite(fd + 1000, "x", 1, 0).code(), StatusCode::kIoError);  // EBADF
}

TEST_F(SimDiskTest, ErrorsMatchThePosixFileSystem) {
  durable_file("/f", "");
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  Result<int> missing = fs_->open("/nope", OpenFlags{});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "opening /nope: No such file or directory");
  EXPECT_EQ(
      fs_->open("/f", OpenFlags{.write = true, .create = true, .exclusive = true}).status().code(),
      StatusCode::kAlreadyExists);
  EXPECT_TRUE(fs_->open("/f", kCreate).ok());  // create without exclusive opens it
  EXPECT_EQ(fs_->open("/nodir/f", kCreate).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->create_dir("/d").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_->create_dir("/f").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_->create_dir("/").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_->create_dir("/x/y").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->rename("/nope", "/g").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->rename("/f", "/nodir/g").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->remove("/nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->list_dir("/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->fsync_dir("/nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->list_dir("/f").status().code(), StatusCode::kIoError);         // ENOTDIR
  EXPECT_EQ(fs_->open("/f/x", kCreate).status().code(), StatusCode::kIoError);  // ENOTDIR
  EXPECT_EQ(fs_->remove("/d").code(), StatusCode::kIoError);  // EISDIR, as unlink(2)
  Result<bool> no = fs_->exists("/nope");
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(*no);
  Result<bool> yes = fs_->exists("/d");
  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(*yes);
}

TEST_F(SimDiskTest, PathsAreNormalised) {
  ASSERT_TRUE(fs_->create_dir("//a/").ok());
  ASSERT_TRUE(fs_->create_dir("a///b").ok());
  const int fd = open("/a/b//f", kCreate);
  pwrite(fd, "x", 0);
  EXPECT_EQ(content(*disk_, "a/b/f"), "x");
  EXPECT_EQ(content(*disk_, "/a/./b/../b/f"), "x");
  Result<std::vector<std::string>> names = fs_->list_dir("/a/b/");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
  Result<std::vector<std::string>> root = fs_->list_dir("/");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, std::vector<std::string>{"a"});
}

TEST_F(SimDiskTest, FileSizeAndReadsSeeCurrentContent) {
  durable_file("/f", "hello");
  const int fd = open("/f");
  pwrite(fd, "!", 7);
  Result<uint64_t> size = fs_->file_size(fd);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 8u);
  char buf[16] = {};
  Result<size_t> got = fs_->pread(fd, buf, sizeof buf, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(buf, *got), std::string("hello\0\0!", 8));
  got = fs_->pread(fd, buf, sizeof buf, 100);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
}

// ---------------------------------------------------------------------------------------------
// Helpers

TEST_F(SimDiskTest, WriteFileMakesOnlyItsOwnPathDurable) {
  ASSERT_TRUE(fs_->create_dir("/d").ok());
  ASSERT_TRUE(fs_->fsync_dir("/").ok());
  const int fd = open("/d/pending", kCreate);
  ASSERT_TRUE(fs_->fdatasync(fd).ok());
  ASSERT_TRUE(disk_->write_file("/d/planted", "bytes").ok());
  ASSERT_TRUE(disk_->write_file("/new/dir/file", "deep").ok());
  auto after = disk_->reboot(1);
  EXPECT_EQ(content(*after, "/d/planted"), "bytes");
  EXPECT_EQ(content(*after, "/new/dir/file"), "deep");
  EXPECT_FALSE(exists(*after, "/d/pending"));
  EXPECT_EQ(after->write_file("/d/planted/x", "").code(), StatusCode::kIoError);  // ENOTDIR
  EXPECT_EQ(disk_->write_file("/x", "").code(), StatusCode::kIoError);            // the disk is cut
}

TEST_F(SimDiskTest, ExportCopiesTheCurrentTree) {
  ASSERT_TRUE(disk_->write_file("/data/log/a.wal", std::string("a\0b", 3)).ok());
  ASSERT_TRUE(disk_->write_file("/data/log/sub/b", "bee").ok());
  ASSERT_TRUE(disk_->write_file("/data/other", "no").ok());
  TempDir tmp;
  ASSERT_TRUE(disk_->export_to("/data/log", tmp / "out").ok());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(slurp(tmp / "out" / "a.wal"), std::string("a\0b", 3));
  EXPECT_EQ(slurp(tmp / "out" / "sub" / "b"), "bee");
  EXPECT_FALSE(std::filesystem::exists(tmp / "out" / "other"));
  EXPECT_EQ(disk_->export_to("/missing", tmp / "x").code(), StatusCode::kNotFound);
}

TEST_F(SimDiskTest, FileSystemAndQueueKeepTheDiskAlive) {
  std::weak_ptr<SimDisk> weak = disk_;
  auto factory = disk_->io_queue_factory();
  auto fs = disk_->file_system();
  disk_.reset();
  fs_.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_TRUE(fs->create_dir("/d").ok());
  auto q = factory();
  fs.reset();
  factory = nullptr;
  EXPECT_FALSE(weak.expired());
  q.reset();
  EXPECT_TRUE(weak.expired());
}

// ---------------------------------------------------------------------------------------------
// A log on the disk: what it acknowledged survives every cut.

TEST(SimDiskWithLog, AcknowledgedRecordsSurviveACut) {
  for (const uint64_t cut_at : {40u, 120u, 400u, 1500u}) {
    auto disk = SimDisk::create(SimDiskOptions{.seed = cut_at});
    log::LogOptions options;
    options.segment_bytes = 1u << 20;
    options.batch_bytes_max = 64u << 10;
    options.record_bytes_max = 16u << 10;
    options.staging_bytes = 1u << 20;
    options.file_system = disk->file_system();
    options.io_queue_factory = disk->io_queue_factory();
    auto opened = log::Log::open("/sim/log", options);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    auto log = std::move(*opened);
    disk->cut_after(cut_at);
    uint64_t acknowledged = 0;  // records 0..acknowledged-1 were acknowledged
    for (uint64_t i = 0; i < 3000; ++i) {
      const std::vector<std::byte> payload = make_blob(1, i, 100 + i % 3000);
      if (!log->append_durable(kBlobType, payload).ok()) break;
      acknowledged = i + 1;
    }
    EXPECT_TRUE(disk->is_cut()) << "cut_at " << cut_at;
    (void)log->close();
    log.reset();

    for (uint64_t seed = 0; seed < 3; ++seed) {
      const std::string where =
          "cut_at " + std::to_string(cut_at) + " seed " + std::to_string(seed);
      auto after = disk->reboot(seed);
      options.file_system = after->file_system();
      options.io_queue_factory = after->io_queue_factory();
      auto reopened = log::Log::open("/sim/log", options);
      ASSERT_TRUE(reopened.ok()) << where << ": " << reopened.status().to_string();
      ASSERT_TRUE((*reopened)->close().ok());
      auto reader =
          log::LogReader::open("/sim/log", log::ReaderOptions{.file_system = options.file_system});
      ASSERT_TRUE(reader.ok()) << where << ": " << reader.status().to_string();
      uint64_t next = 0;
      for (;;) {
        Result<const log::ReadRecord*> r = (*reader)->next();
        ASSERT_TRUE(r.ok()) << where << ": " << r.status().to_string();
        if (*r == nullptr) break;
        const BlobId id = read_blob((*r)->payload);
        ASSERT_EQ(id.seq, next) << where;
        ASSERT_TRUE(id.data_ok) << where;
        ++next;
      }
      EXPECT_GE(next, acknowledged) << where;
    }
  }
}

}  // namespace
}  // namespace cairn::testing
