// OutputBuffer: a large write buffer in front of stdout, so that commands printing one line per
// record (log dump) make one write call per megabyte instead of one per line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "cairn/log/status.h"

namespace cairn::tools {

class OutputBuffer {
 public:
  // Writes go to `out` whenever more than `flush_bytes` are buffered.
  explicit OutputBuffer(std::FILE* out, size_t flush_bytes = size_t{1} << 20);
  ~OutputBuffer();  // flushes; an error here is lost: call flush() to see it
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;

  void append(std::string_view text) {
    buf_.append(text);
    if (buf_.size() >= flush_bytes_) write_out();
  }
  void append(char c) { buf_.push_back(c); }
  void append_uint(uint64_t value);

  // Writes everything buffered. Fails (and keeps failing) once a write to `out` failed, e.g. when
  // stdout is a full disk.
  Status flush();

 private:
  void write_out();

  std::FILE* out_;
  size_t flush_bytes_;
  std::string buf_;
  int write_errno_ = 0;
};

}  // namespace cairn::tools
