// SimDisk: an in-memory disk for tests that simulates power cuts. It hands out a log::FileSystem
// and IoQueues that behave like POSIX files after a crash: data is durable only once synced (or
// written through an O_DSYNC fd), directory entries only once their directory is fsynced, and
// writes submitted to an IoQueue stay in flight across the writer's loop until wait() completes
// them in a seeded order. A test cuts the power after N operations (or at once), then reboot()
// yields a new disk with what survived, unsynced and in-flight sectors torn per a seed.
// In the spirit of RocksDB's FaultInjectionTestFS, SQLite's crash VFS and LazyFS.
//
//   auto disk = SimDisk::create();
//   options.file_system = disk->file_system();
//   options.io_queue_factory = disk->io_queue_factory();
//   ... open a log on "/sim/log", append, disk->cut_after(n) ...
//   auto after = disk->reboot(seed);  // open the log again on after->file_system()
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/log/io.h"
#include "cairn/log/status.h"

namespace cairn::testing {

struct SimDiskOptions {
  // Seeds which in-flight IoQueue requests each wait() completes, and in which order.
  uint64_t seed = 0;
  // At reboot, every sector whose current bytes differ from its durable bytes, and every sector of
  // a write in flight at the cut, independently survives or not (per the reboot seed). false:
  // exactly the durable state survives.
  bool tear_sectors = true;
  uint32_t sector_bytes = 512;
  // true: wait() completes in-flight requests in a seeded random order; false: oldest first.
  bool reorder_completions = true;
  // Chance that wait(block = false) completes a given in-flight request, so that writes stay in
  // flight across the writer's loop iterations.
  double complete_probability_nonblocking = 0.5;
};

// What a reboot made of the cut, for test summaries.
struct CutReport {
  uint64_t sectors_new = 0;       // written, not durable, and kept their new bytes
  uint64_t sectors_old = 0;       // written, not durable, and went back to their durable bytes
  uint64_t writes_in_flight = 0;  // IoQueue writes submitted and not completed at the cut
  uint64_t in_flight_sectors_landed = 0;
  uint64_t in_flight_sectors_lost = 0;
  uint64_t entries_lost = 0;     // paths visible at the cut that are gone or name another file
  uint64_t entries_revived = 0;  // paths removed or renamed away before the cut that are back
  std::string cut_during;        // the operation the power failed in, e.g. "pwrite /a/b"
};

class SimDisk : public std::enable_shared_from_this<SimDisk> {
  struct Key {
    explicit Key() = default;
  };

 public:
  // The disk holds only the root directory "/", which is durable.
  static std::shared_ptr<SimDisk> create(SimDiskOptions options = {});
  SimDisk(Key, SimDiskOptions options);  // use create()
  ~SimDisk();
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  // Both keep the disk alive. Paths are absolute ("/sim/log/x.wal"); relative ones start at "/".
  // Fds count up from 1,000,000 so that a real syscall on one fails with EBADF.
  std::shared_ptr<log::FileSystem> file_system();
  std::function<std::unique_ptr<log::IoQueue>()> io_queue_factory();

  const SimDiskOptions& options() const;

  // --- power cuts ---
  // Mutating operations so far: open with create, create_dir, pwrite, fdatasync, fsync_dir,
  // rename, remove, each IoQueue request submitted and each IoQueue completion.
  uint64_t operations() const;
  // The power fails in the nth operation from now (1: the next one): it and everything after it
  // fail. 0 cuts at once. Replaces an earlier cut_after; ignored once cut.
  void cut_after(uint64_t n);
  void cut_now();
  // The power fails in the operation right after the first IoQueue completion, n or more
  // operations from now, that leaves another request still in flight: the moment a writer with
  // two writes in flight has one durable and the other not. (Combines with cut_after: whichever
  // comes first.)
  void cut_in_flight_window(uint64_t n);
  bool is_cut() const;
  // IoQueue requests submitted and not yet returned by wait(), over all queues.
  size_t requests_in_flight() const;

  // A new disk with what survived the cut (cuts this one first if needed); this disk is unchanged,
  // so the same seed gives the same image. Its options are this disk's with `seed`.
  std::shared_ptr<SimDisk> reboot(uint64_t seed, CutReport* report = nullptr);

  // --- helpers for tests (not operations; they ignore cut_after) ---
  // Copies the current tree under sim_dir (for a rebooted disk: what survived) into real_dir,
  // creating directories as needed, so that checkers or a person can read it.
  Status export_to(const std::string& sim_dir, const std::filesystem::path& real_dir) const;
  // Current content of a file.
  Result<std::string> read_file(const std::string& path) const;
  // Replaces (or creates) a file with `bytes`, creating missing parent directories, and makes its
  // content and every entry on its path durable (only those: other pending entries of the same
  // directories stay pending). For planting foreign or damaged files. Fails on a cut disk.
  Status write_file(const std::string& path, std::string_view bytes);
  // Current entry names of a directory, sorted.
  Result<std::vector<std::string>> list(const std::string& path) const;

  class State;  // the disk's tree, fds and queues (sim_disk.cc)

 private:
  std::unique_ptr<State> state_;
};

}  // namespace cairn::testing
