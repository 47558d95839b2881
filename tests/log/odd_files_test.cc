// Files in a log directory that carry the log's names but are not regular files (a FIFO, a
// directory): every way into the log refuses them by path instead of blocking for good on a FIFO
// or failing deep in a read with no name, and leaves them where they are. And the name a file
// moved aside gets never lands on one that is there.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "blob_log.h"
#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "log_dir_files.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

namespace fs = std::filesystem;
using cairn::testing::BlobLogSpec;

// Runs `open` and returns its status, or fails the test when it has not returned within a minute
// (a FIFO opened for reading waits for a writer: this test then plays the writer, so that the
// call returns and the test ends instead of hanging).
Status finishes(const fs::path& fifo, std::function<Status()> open) {
  std::future<Status> done = std::async(std::launch::async, std::move(open));
  if (done.wait_for(std::chrono::minutes(1)) == std::future_status::ready) return done.get();
  ADD_FAILURE() << "still blocked after a minute, opening " << fifo;
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  if (fd >= 0) ::close(fd);
  return done.get();
}

// A log of one segment whose segment is then swapped for a FIFO of the same name (the records are
// kept beside the directory, so the test can show they were not the point).
fs::path log_with_fifo_segment(const fs::path& root) {
  const fs::path dir = root / "log";
  cairn::testing::write_blob_log(dir, cairn::testing::small_log_options(), {.records = 5});
  const std::vector<fs::path> segments = cairn::testing::segment_paths(dir);
  EXPECT_EQ(segments.size(), 1u);
  if (segments.size() != 1) return {};
  fs::rename(segments[0], root / "segment.kept");
  EXPECT_EQ(::mkfifo(segments[0].c_str(), 0600), 0);
  return segments[0];
}

void expect_refused_by_name(const Status& st, const fs::path& file, const char* kind) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find(file.string() + " is " + kind + ", not a regular file"),
            std::string::npos)
      << st.to_string();
}

TEST(OddFilesInALogDirectory, AFifoNamedLikeASegmentIsRefusedByNameAndLeftInPlace) {
  cairn::testing::TempDir root;
  const fs::path fifo = log_with_fifo_segment(root.path());
  ASSERT_FALSE(fifo.empty());
  const fs::path dir = fifo.parent_path();

  const Status writer =
      finishes(fifo, [&] { return Log::open(dir, cairn::testing::small_log_options()).status(); });
  expect_refused_by_name(writer, fifo, "a FIFO");
  const Status verify = finishes(fifo, [&] { return verify_log(dir, VerifyOptions{}).status(); });
  expect_refused_by_name(verify, fifo, "a FIFO");
  const Status reader = finishes(fifo, [&] {
    Result<std::unique_ptr<LogReader>> r = LogReader::open(dir, ReaderOptions{});
    if (!r.ok()) return r.status();
    Result<const ReadRecord*> next = (*r)->next();
    return next.ok() ? Status() : next.status();
  });
  expect_refused_by_name(reader, fifo, "a FIFO");

  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the refused file was replaced or removed";
}

TEST(OddFilesInALogDirectory, ADirectoryNamedLikeASegmentIsRefusedByName) {
  cairn::testing::TempDir root;
  const fs::path fifo = log_with_fifo_segment(root.path());
  ASSERT_FALSE(fifo.empty());
  fs::remove(fifo);
  fs::create_directory(fifo);
  const fs::path dir = fifo.parent_path();

  Result<std::unique_ptr<Log>> writer = Log::open(dir, cairn::testing::small_log_options());
  ASSERT_FALSE(writer.ok());
  // The writer opens its last segment for writing, which the kernel refuses for a directory.
  expect_refused_by_name(writer.status(), fifo, "a directory");
  expect_refused_by_name(verify_log(dir, VerifyOptions{}).status(), fifo, "a directory");
  EXPECT_TRUE(fs::is_directory(fifo));
}

// A spare's name on a FIFO: the open never waits on it, and keeps it (it holds no records, but it
// is not the log's to delete either).
TEST(OddFilesInALogDirectory, AFifoNamedLikeARecycledSpareIsPassedOver) {
  cairn::testing::TempDir root;
  const fs::path dir = root.path() / "log";
  ASSERT_EQ(cairn::testing::write_blob_log(dir, cairn::testing::small_log_options(), {.records = 5})
                .size(),
            5u);
  const fs::path fifo = dir / "recycled-7.tmp";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::unique_ptr<Log> log;
  const Status opened = finishes(fifo, [&] {
    Result<std::unique_ptr<Log>> r = Log::open(dir, cairn::testing::small_log_options());
    if (r.ok()) log = std::move(*r);
    return r.status();
  });
  ASSERT_TRUE(opened.ok()) << opened.to_string();
  ASSERT_EQ(cairn::testing::append_blobs(*log, BlobLogSpec{.records = 3}, 5).size(), 3u);
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(cairn::testing::read_blob_log(dir).size(), 8u);
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

// Only the log's own spare names are its to delete or reuse: a file that merely begins like one
// (a user's notes, a copy) is left alone (the open deleted every "prealloc-*" and "recycled-*").
TEST(OddFilesInALogDirectory, FilesThatOnlyBeginLikeASpareAreLeftAlone) {
  cairn::testing::TempDir root;
  const fs::path dir = root.path() / "log";
  ASSERT_EQ(cairn::testing::write_blob_log(dir, cairn::testing::small_log_options(), {.records = 5})
                .size(),
            5u);
  const std::vector<std::string> names = {"recycled-notes.txt", "prealloc-x.tmp",
                                          "recycled-12.tmp.bak", "prealloc-.tmp"};
  for (const std::string& name : names) std::ofstream(dir / name) << "keep me";
  const fs::path spare = dir / "prealloc-99.tmp";  // the log's own name: a leftover it removes
  std::ofstream(spare) << "half made";
  auto log = Log::open(dir, cairn::testing::small_log_options());
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  ASSERT_TRUE((*log)->close().ok());
  for (const std::string& name : names) EXPECT_TRUE(fs::exists(dir / name)) << name;
  EXPECT_FALSE(fs::exists(spare));
}

// What is moved aside (into a quarantine) never lands on an earlier file of the same name, which a
// rename would delete: the next free of NAME, NAME.1 ... NAME.999, and an error, with every file
// as it was, once all are taken.
TEST(OddFilesInALogDirectory, AnUnusedPathNeverNamesAFileThatIsThere) {
  cairn::testing::TempDir root;
  const std::shared_ptr<FileSystem> files = posix_file_system();
  const std::string dir = root.path().string();
  Result<std::string> first = unused_path_in(*files, dir, "seg");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(*first, dir + "/seg");
  std::ofstream(root / "seg") << "kept";
  std::ofstream(root / "seg.1") << "kept";
  Result<std::string> third = unused_path_in(*files, dir, "seg");
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_EQ(*third, dir + "/seg.2");
  for (int n = 2; n <= 999; ++n) std::ofstream(root / ("seg." + std::to_string(n))) << "kept";
  Result<std::string> none = unused_path_in(*files, dir, "seg");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(none.status().message().find("seg.1 to seg.999"), std::string::npos)
      << none.status().to_string();
  size_t kept = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(root.path())) {
    std::ifstream in(e.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "kept") << e.path();
    ++kept;
  }
  EXPECT_EQ(kept, 1000u);
}

TEST(OddFilesInALogDirectory, AFileReplacedAtomicallyHoldsOnlyTheNewBytes) {
  cairn::testing::TempDir root;
  const std::shared_ptr<FileSystem> files = posix_file_system();
  auto text_of = [&](const std::string& name) {
    std::ifstream in(root / name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  std::ofstream(root / "NOTE") << "old";
  // An interrupted earlier call's leftover, longer than the new bytes: none of it may remain.
  std::ofstream(root / "NOTE.tmp") << std::string(10'000, 'x');
  const std::string fresh = "new";
  Status st = write_file_atomically(
      *files, root.path().string(), "NOTE",
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(fresh.data()), fresh.size()));
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(text_of("NOTE"), "new");
  EXPECT_FALSE(fs::exists(root / "NOTE.tmp"));
  st = write_file_atomically(*files, root.path().string(), "NOTE", {});
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(fs::file_size(root / "NOTE"), 0u);
  // Into a directory that is not there: an error, not a file somewhere else.
  st = write_file_atomically(*files, (root / "missing").string(), "NOTE", {});
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.to_string();
}

}  // namespace
}  // namespace cairn::log
