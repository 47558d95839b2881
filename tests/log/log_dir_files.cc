// Copies, snapshots and damage of log directory files (see log_dir_files.h).
#include "log_dir_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "frame_format.h"

namespace cairn::testing {

namespace fs = std::filesystem;

std::vector<fs::path> segment_paths(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && log::format::parse_segment_file_name(e.path().filename().string())) {
      out.push_back(e.path());
    }
  }
  // By sequence number: past 99,999,999 a name is longer, and sorts before shorter ones.
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return log::format::parse_segment_file_name(a.filename().string())->seq <
           log::format::parse_segment_file_name(b.filename().string())->seq;
  });
  return out;
}

fs::path segment_path(const fs::path& dir, uint64_t seq) {
  for (const fs::path& p : segment_paths(dir)) {
    if (log::format::parse_segment_file_name(p.filename().string())->seq == seq) return p;
  }
  ADD_FAILURE() << "no segment " << seq << " in " << dir;
  return {};
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

DirSnapshot snapshot(const fs::path& dir) {
  DirSnapshot out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      out[rel] = "<dir>";
      continue;
    }
    const std::vector<std::byte> bytes = file_bytes(e.path());
    out[rel].assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return out;
}

void copy_log(const fs::path& from, const fs::path& to) {
  ASSERT_FALSE(fs::exists(to)) << to;
  fs::copy(from, to, fs::copy_options::recursive);
  fs::remove(to / "CLOSED");
}

std::vector<std::byte> file_bytes(const fs::path& file) {
  return file_bytes(file, 0, fs::file_size(file));
}

std::vector<std::byte> file_bytes(const fs::path& file, uint64_t from, uint64_t to) {
  std::vector<std::byte> out(to - from);
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  EXPECT_TRUE(in.good()) << "reading " << file << " [" << from << ", " << to << ")";
  return out;
}

void write_bytes(const fs::path& file, uint64_t offset, std::span<const std::byte> bytes) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.flush();
  EXPECT_TRUE(f.good()) << "writing " << file << " at " << offset;
}

void flip_bit(const fs::path& file, uint64_t offset, int bit) {
  std::vector<std::byte> b = file_bytes(file, offset, offset + 1);
  b[0] ^= std::byte(1u << bit);
  write_bytes(file, offset, b);
}

void zero_bytes(const fs::path& file, uint64_t from, uint64_t to) {
  const std::vector<std::byte> zeros(to - from);
  write_bytes(file, from, zeros);
}

uint64_t nonzero_end(const fs::path& file) {
  const std::vector<std::byte> bytes = file_bytes(file);
  for (size_t i = bytes.size(); i > 0; --i) {
    if (bytes[i - 1] != std::byte{0}) return i;
  }
  return 0;
}

}  // namespace cairn::testing
