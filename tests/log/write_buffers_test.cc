// The memory and files the log's direct writes use: WriteBuffer (aligned, zeroed, huge pages
// asked for from 2 MiB) and SegmentPreparer::prepare_file's spares (zeros, synced, and not left
// in the page cache, since the log then writes the file directly).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cairn/log/io.h"
#include "frame_format.h"
#include "segment_preparer.h"
#include "support/temp_dir.h"
#include "write_buffer.h"

namespace cairn::log {
namespace {

// The VmFlags line of the mapping that holds `addr` (/proc/self/smaps), or "" if none does.
std::string vm_flags_at(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(addr);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= a && a < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

TEST(WriteBuffer, SmallBuffersArePageAlignedZeroedAndWritable) {
  for (size_t bytes : {size_t{1}, size_t{4096}, size_t{8193}, size_t{1} << 20}) {
    WriteBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(b.size(), bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u) << bytes;
    EXPECT_FALSE(b.wants_huge_pages());
    EXPECT_TRUE(format::all_zero(b.data(), bytes)) << bytes;
    std::memset(b.data(), 0xa5, bytes);  // every byte is ours (ASan would see an overrun)
  }
}

TEST(WriteBuffer, LargeBuffersAreHugePageAlignedAndAskForHugePages) {
  const bool thp = ::access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
  for (size_t bytes : {kHugePageBytes, size_t{4} << 20, (size_t{4} << 20) + 4096}) {
    WriteBuffer b(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kHugePageBytes, 0u) << bytes;
    EXPECT_TRUE(b.wants_huge_pages());
    EXPECT_TRUE(format::all_zero(b.data(), bytes)) << bytes;
    std::memset(b.data(), 0xa5, bytes);
    // "hg": madvise(MADV_HUGEPAGE) is on the mapping, whether or not the kernel found huge pages.
    if (thp) {
      const std::string flags = vm_flags_at(b.data());
      EXPECT_NE(flags.find(" hg"), std::string::npos) << bytes << ": " << flags;
      EXPECT_EQ(vm_flags_at(b.data() + bytes - 1), flags);
    }
  }
}

TEST(WriteBuffer, MovesHandTheMemoryOverAndLeakKeepsItMapped) {
  WriteBuffer a(8192);
  std::byte* p = a.data();
  WriteBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is checked
  EXPECT_EQ(b.data(), p);
  WriteBuffer c(4096);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), 8192u);
  // A leaked buffer stays mapped (the kernel may still read it): writing it is fine.
  c.leak();
  EXPECT_EQ(c.data(), nullptr);
  p[0] = std::byte{1};
  p[8191] = std::byte{1};
}

TEST(PreparedSpare, IsZerosOnDiskAndNotLeftInThePageCache) {
  testing::TempDir dir;
  struct statfs fs_info {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs_info), 0);
  const std::string path = (dir.path() / "spare.tmp").string();
  const uint64_t bytes = uint64_t{3} << 20;
  std::shared_ptr<FileSystem> fs = posix_file_system();
  ASSERT_TRUE(SegmentPreparer::prepare_file(*fs, dir.path().string(), path, bytes).ok());

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  // mincore before anything reads the mapping: which of the file's pages are cached.
  std::vector<unsigned char> resident(bytes / 4096);
  ASSERT_EQ(::mincore(map, bytes, resident.data()), 0);
  size_t cached = 0;
  for (unsigned char r : resident) cached += r & 1;
  if (fs_info.f_type != TMPFS_MAGIC) {
    // tmpfs pages are the file itself: nothing there to drop.
    EXPECT_EQ(cached, 0u) << "of " << resident.size() << " pages";
  }
  EXPECT_TRUE(format::all_zero(static_cast<const std::byte*>(map), bytes));
  ::munmap(map, bytes);
  ::close(fd);
  EXPECT_EQ(std::filesystem::file_size(path), bytes);
}

}  // namespace
}  // namespace cairn::log
