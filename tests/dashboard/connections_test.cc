// Connections a client opens and leaves idle: httplib handed every accepted connection to its
// thread pool's queue, which had no bound, so a client that opened connections faster than the
// threads closed them (an idle one holds a thread for the keep-alive second) made the process
// hold one descriptor per connection, without limit — the descriptors the engine's log and
// snapshots need too. DashboardOptions::connections_max bounds them: past it the accept loop
// waits, and further connections wait in the system's listen queue, unaccepted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

// Sockets this process holds (the test's clients and the dashboard's connections).
size_t open_sockets() {
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const std::filesystem::path target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target.string().starts_with("socket:")) ++n;
  }
  return n;
}

// A connection that sends nothing (non-blocking: a connect past the listen queue does not wait).
int idle_connection(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  return fd;
}

using Connections = DashboardTest;

TEST_F(Connections, IdleConnectionsTheDashboardHoldsStayWithinConnectionsMax) {
  dashboard_->stop();
  serve({.threads = 1, .connections_max = 4});
  const size_t before = open_sockets();  // the listening socket and any others
  constexpr size_t kIdle = 40;
  std::vector<int> clients;
  for (size_t i = 0; i < kIdle; ++i) clients.push_back(idle_connection(port_));
  // The dashboard's connections: at most connections_max, and the one its accept loop holds
  // while it waits for room. Watched for a second (the idle ones hold the one thread a second
  // each), or until they pass the bound, which they did at once without it.
  constexpr size_t kBound = 4 + 1;
  size_t most = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until && most <= kBound) {
    const size_t now = open_sockets();
    most = std::max(most, now > before + kIdle ? now - before - kIdle : 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_LE(most, kBound) << "connections held by the dashboard";
  EXPECT_GE(most, 1u) << "the dashboard accepted none: the test measured nothing";
  for (int fd : clients) ::close(fd);
  // Once they are gone it answers again.
  EXPECT_EQ(get("/api/stats").status, 200);
}

TEST(ConnectionsOption, FewerConnectionsThanThreadsAreRefused) {
  const Status st = Dashboard::check_options({.threads = 8, .connections_max = 4});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("connections_max"), std::string::npos) << st.to_string();
  EXPECT_TRUE(Dashboard::check_options({.threads = 8, .connections_max = 8}).ok());
}

}  // namespace
}  // namespace cairn::testing
