// FifoWatch: plays the writer of a FIFO that a command under test may open for reading, so that a
// command that should have refused the FIFO does not block the test for good.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace cairn::testing {

// Opens the write end of a FIFO whenever something waits to read it, and remembers that it did: a
// command that opened the FIFO (where it would block for good) goes on, and the test knows.
class FifoWatch {
 public:
  explicit FifoWatch(std::filesystem::path fifo)
      : thread_([this, fifo = std::move(fifo)] {
          while (!stop_) {
            const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            if (fd >= 0) {
              opened_ = true;
              ::close(fd);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }) {}
  ~FifoWatch() {
    stop_ = true;
    thread_.join();
  }
  bool opened() const { return opened_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> opened_{false};
  std::thread thread_;
};

}  // namespace cairn::testing
