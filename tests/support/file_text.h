// A whole file's bytes as a string, and a file made of a string: for tests that read or damage
// small files an engine or the log wrote (DIR/OPTIONS, snapshots) by hand.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace cairn::testing {

// Empty when the file cannot be read.
inline std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file's contents (creating it when missing).
inline void write_file_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Replaces the first `from` in the file with `to`; false (the file unchanged) when it has none.
inline bool replace_in_file(const std::filesystem::path& path, const std::string& from,
                            const std::string& to) {
  std::string text = file_text(path);
  const size_t at = text.find(from);
  if (at == std::string::npos) return false;
  text.replace(at, from.size(), to);
  write_file_text(path, text);
  return true;
}

}  // namespace cairn::testing
