// The files of a log directory as the damage tests handle them: copies of an intact log, snapshots
// of every byte (to prove a refused open changed nothing), and damage done the way a disk or a
// crash does it (flipped bits, zeroed ranges, garbage written over bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace cairn::testing {

// The segment files (*.wal) of a log directory, in sequence order.
std::vector<std::filesystem::path> segment_paths(const std::filesystem::path& dir);
// The segment file with sequence number `seq` (a test failure and an empty path when none).
std::filesystem::path segment_path(const std::filesystem::path& dir, uint64_t seq);
// Names of the regular files directly in `dir`, sorted.
std::vector<std::string> file_names(const std::filesystem::path& dir);

// Every file and directory under `dir` by relative path; a file maps to its bytes, a directory to
// "<dir>".
using DirSnapshot = std::map<std::string, std::string>;
DirSnapshot snapshot(const std::filesystem::path& dir);

// Copies the log directory `from` to `to` (which must not exist yet), recursively, as a crash
// would leave it: without the clean-close marker, which proves every record durable and would make
// the torn writes the tests make corruption (log/src/clean_close.h).
void copy_log(const std::filesystem::path& from, const std::filesystem::path& to);

std::vector<std::byte> file_bytes(const std::filesystem::path& file);
std::vector<std::byte> file_bytes(const std::filesystem::path& file, uint64_t from, uint64_t to);
void write_bytes(const std::filesystem::path& file, uint64_t offset,
                 std::span<const std::byte> bytes);
void flip_bit(const std::filesystem::path& file, uint64_t offset, int bit);
void zero_bytes(const std::filesystem::path& file, uint64_t from, uint64_t to);
// Offset just past the last non-zero byte of the file, 0 when it is all zeros.
uint64_t nonzero_end(const std::filesystem::path& file);

}  // namespace cairn::testing
