// The clean-close marker (clean_close.h): its bytes, and writing, reading and removing its file.
#include "clean_close.h"

#include <cstring>

#include "frame_format.h"
#include "log_directory.h"

namespace cairn::log {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'C', 'L', 'S'};
constexpr uint32_t kVersion = 1;
constexpr size_t kChecksummed = 40;

}  // namespace

std::array<std::byte, kCleanCloseBytes> encode_clean_close(const CleanClose& marker) {
  std::array<std::byte, kCleanCloseBytes> out{};
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  std::memcpy(out.data() + 8, &kVersion, sizeof kVersion);
  format::store_u64(out.data() + 16, marker.seq);
  format::store_u64(out.data() + 24, marker.first_lsn);
  format::store_u64(out.data() + 32, marker.end_lsn);
  format::store_u64(out.data() + kChecksummed, XXH3_64bits(out.data(), kChecksummed));
  return out;
}

std::optional<CleanClose> decode_clean_close(std::span<const std::byte> bytes, std::string* why) {
  if (bytes.size() != kCleanCloseBytes) {
    *why = "it holds " + std::to_string(bytes.size()) + " bytes, not " +
           std::to_string(kCleanCloseBytes);
    return std::nullopt;
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    *why = "it does not begin with the marker's magic";
    return std::nullopt;
  }
  if (format::load_u64(bytes.data() + kChecksummed) != XXH3_64bits(bytes.data(), kChecksummed)) {
    *why = "its checksum does not match its bytes";
    return std::nullopt;
  }
  const uint32_t version = format::load_u32(bytes.data() + 8);
  if (version != kVersion || format::load_u32(bytes.data() + 12) != 0) {
    *why = "format version " + std::to_string(version) + " (this build knows " +
           std::to_string(kVersion) + ")";
    return std::nullopt;
  }
  CleanClose m;
  m.seq = format::load_u64(bytes.data() + 16);
  m.first_lsn = format::load_u64(bytes.data() + 24);
  m.end_lsn = format::load_u64(bytes.data() + 32);
  if (m.end_lsn < m.first_lsn) {
    *why = "its end LSN lies before its segment's first";
    return std::nullopt;
  }
  return m;
}

Status write_clean_close(FileSystem& fs, const std::string& dir, const CleanClose& marker) {
  static_assert(format::kCleanCloseTempFileName.substr(format::kCleanCloseFileName.size()) ==
                ".tmp");  // the name write_file_atomically writes through
  const auto bytes = encode_clean_close(marker);
  return write_file_atomically(fs, dir, std::string(format::kCleanCloseFileName), bytes);
}

std::optional<CleanClose> read_clean_close(FileSystem& fs, const std::string& dir) {
  const std::string path = join_path(dir, std::string(format::kCleanCloseFileName));
  Result<bool> exists = fs.exists(path);
  if (!exists.ok() || !*exists) return std::nullopt;
  Result<int> fd = fs.open(path, OpenFlags{});
  if (!fd.ok()) return std::nullopt;
  // One byte more than a marker holds, so that a longer file is told from one.
  std::array<std::byte, kCleanCloseBytes + 1> buf{};
  Result<size_t> got = fs.pread(*fd, buf.data(), buf.size(), 0);
  (void)fs.close(*fd);  // read-only: nothing to lose
  if (!got.ok()) return std::nullopt;
  std::string why;
  return decode_clean_close(std::span<const std::byte>(buf.data(), *got), &why);
}

Lsn durable_by_clean_close(const std::optional<CleanClose>& marker,
                           const std::vector<SegmentFile>& segments) {
  if (!marker) return 0;
  for (const SegmentFile& s : segments) {
    if (s.seq == marker->seq && s.first_lsn == marker->first_lsn) return marker->end_lsn;
  }
  return 0;
}

Status remove_clean_close(FileSystem& fs, const std::string& dir) {
  for (std::string_view name : {format::kCleanCloseFileName, format::kCleanCloseTempFileName}) {
    const std::string path = join_path(dir, std::string(name));
    CAIRN_ASSIGN_OR_RETURN(bool exists, fs.exists(path));
    if (exists) CAIRN_RETURN_IF_ERROR(fs.remove(path));
  }
  return Status();
}

}  // namespace cairn::log
