// What the `cairn` commands' admin client reads from the endpoint DIR/admin.json names: an answer
// is read up to AdminClientOptions::answer_bytes_max. It used to be read whole into memory, so an
// endpoint that kept sending (a process that took the port, a broken server) grew the command's
// memory for as long as it sent.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "admin_client.h"
#include "support/temp_dir.h"

namespace cairn::tools {
namespace {

// An endpoint whose every answer is `total` bytes, sent 64 KiB at a time; `sent` counts the bytes
// the client took from it.
class EndlessEndpoint {
 public:
  explicit EndlessEndpoint(uint64_t total) : total_(total) {
    auto answer = [this](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(total_, "application/json",
                               [this](size_t offset, size_t length, httplib::DataSink& sink) {
                                 const std::string chunk(std::min<size_t>(length, 64 << 10), ' ');
                                 if (!sink.write(chunk.data(), chunk.size())) return false;
                                 sent_ += chunk.size();
                                 (void)offset;
                                 return true;
                               });
    };
    server_.Get(".*", answer);
    server_.Post(".*", answer);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~EndlessEndpoint() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  uint64_t sent() const { return sent_.load(); }

 private:
  const uint64_t total_;
  std::atomic<uint64_t> sent_{0};
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(AdminAnswer, AnAnswerIsReadOnlyUpToAnswerBytesMax) {
  constexpr uint64_t kTotal = 256ull << 20;
  EndlessEndpoint endpoint(kTotal);
  ASSERT_GT(endpoint.port(), 0);
  testing::TempDir dir;
  std::ofstream(dir / "admin.json")
      << R"({"url":"http://127.0.0.1:)" << endpoint.port() << R"(/","pid":)" << ::getpid()
      << R"(,"token_required":false})";
  const AdminClientOptions options{.answer_bytes_max = 1 << 20};
  auto client = AdminClient::connect(dir.path(), "", options);
  // The client stopped reading near the limit (the rest is what the sockets buffer), where it
  // read all 256 MiB before.
  EXPECT_LT(endpoint.sent(), 32ull << 20);
  // Connecting reads GET /api/stats: an answer over the limit is an error naming it.
  EXPECT_EQ(client.status().code(), StatusCode::kLimitExceeded) << client.status().to_string();
  EXPECT_NE(client.status().message().find("answer_bytes_max"), std::string::npos)
      << client.status().to_string();
}

}  // namespace
}  // namespace cairn::tools
