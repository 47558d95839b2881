// OutputBuffer (see output_buffer.h).
#include "output_buffer.h"

#include <cerrno>
#include <charconv>

namespace cairn::tools {

OutputBuffer::OutputBuffer(std::FILE* out, size_t flush_bytes)
    : out_(out), flush_bytes_(flush_bytes) {
  CAIRN_CHECK(out_ != nullptr);
  CAIRN_CHECK(flush_bytes_ > 0);
  // Room for one more line past the threshold without reallocating.
  buf_.reserve(flush_bytes_ + (flush_bytes_ / 4));
}

OutputBuffer::~OutputBuffer() {
  (void)flush();
}

void OutputBuffer::append_uint(uint64_t value) {
  char digits[20];  // 2^64 - 1 has 20 decimal digits
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  CAIRN_CHECK(ec == std::errc());
  buf_.append(digits, end);
}

void OutputBuffer::write_out() {
  if (write_errno_ == 0 && !buf_.empty()) {
    if (std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size() || std::fflush(out_) != 0) {
      write_errno_ = errno != 0 ? errno : EIO;
    }
  }
  // After a failed write the rest is dropped: the caller learns of it from flush().
  buf_.clear();
}

Status OutputBuffer::flush() {
  write_out();
  if (write_errno_ != 0) return errno_status(write_errno_, "writing the output");
  return Status();
}

}  // namespace cairn::tools
