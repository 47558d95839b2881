// Methods a path does not take: 405 Method Not Allowed with an `Allow` header naming those it
// does, for any method (one httplib knows, as PATCH, or not, as BREW); an unknown path stays 404.
// httplib alone answered 404 for the first and 400 for the second, whatever the path.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <string>

#include "dashboard_fixture.h"

namespace cairn::testing {
namespace {

struct MethodReply {
  int status = 0;
  std::string allow;
  nlohmann::json json;
};

class Methods : public DashboardTest {
 protected:
  MethodReply request(const std::string& method, const std::string& path,
                      const std::string& token = "") {
    httplib::Client client("127.0.0.1", port_);
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!token.empty()) req.set_header("Authorization", "Bearer " + token);
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    MethodReply reply;
    if (!client.send(req, res, error)) return reply;
    reply.status = res.status;
    reply.allow = res.get_header_value("Allow");
    reply.json = nlohmann::json::parse(res.body, nullptr, false);
    return reply;
  }
};

TEST_F(Methods, AMethodAKnownPathDoesNotTakeIs405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c :
       {Case{"PATCH", "/api/runs", "GET, HEAD"}, Case{"DELETE", "/api/runs/5", "GET, HEAD"},
        Case{"PUT", "/api/runs/5/cancel", "POST"}, Case{"GET", "/api/runs/5/replay", "POST"},
        Case{"GET", "/api/events", "POST"}, Case{"POST", "/api/stats", "GET, HEAD"},
        Case{"OPTIONS", "/", "GET, HEAD"}, Case{"BREW", "/", "GET, HEAD"},
        Case{"BREW", "/api/events?x=1", "POST"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path);
    const MethodReply r = request(c.method, c.path);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.allow, c.allow);
    ASSERT_TRUE(r.json.is_object());
    EXPECT_NE(r.json.value("error", "").find(c.method), std::string::npos) << r.json.dump();
  }
}

TEST_F(Methods, AnyMethodOnAnUnknownPathIs404) {
  for (const char* method : {"GET", "PATCH", "BREW"}) {
    SCOPED_TRACE(method);
    const MethodReply r = request(method, "/nope");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.allow, "");
    EXPECT_TRUE(r.json.is_object());
  }
}

// The route's own 404 (a run the engine does not know) and the methods a path takes are as
// they were.
TEST_F(Methods, KnownMethodsAreServedAsBefore) {
  EXPECT_EQ(request("GET", "/api/runs").status, 200);
  EXPECT_EQ(request("HEAD", "/api/stats").status, 200);
  const MethodReply unknown_run = request("GET", "/api/runs/987654");
  EXPECT_EQ(unknown_run.status, 404);
  EXPECT_EQ(unknown_run.allow, "");
}

// httplib reads no header of a request whose method it does not know, and takes the lines that
// follow for new requests: the first answer is the 405, and it tells the client to close.
TEST_F(Methods, AnUnknownMethodsAnswerClosesTheConnection) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "BREW /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pot: tea\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 405 ")) << answer;
  EXPECT_NE(answer.find("Allow: GET, HEAD\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
}

// With a token, a request without it is 401 before anything else, for any method httplib knows
// (one it does not know is answered from its request line alone: docs/dashboard.md).
TEST_F(Methods, TheTokenIsCheckedFirst) {
  dashboard_->stop();
  auto d = start_dashboard({.token = "s3cret"});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  dashboard_ = std::move(*d);
  port_ = dashboard_->port();
  EXPECT_EQ(request("PATCH", "/api/runs").status, 401);
  EXPECT_EQ(request("PATCH", "/api/runs", "s3cret").status, 405);
}

}  // namespace
}  // namespace cairn::testing
