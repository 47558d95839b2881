// A program outside Cairn's tree serving the web dashboard of its engine (Cairn::dashboard),
// built with warnings as errors: starts an engine in DIR, sends one event, serves the dashboard
// on a free loopback port and reads its API back over a plain socket, as a browser would.
// Prints "dashboard 200 runs 1" when the page's API lists the run.
// Usage: consumer_dashboard DIR
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cairn/dashboard.h"
#include "cairn/engine.h"

namespace {

// GET `path` from 127.0.0.1:`port`; the whole response, or empty on failure.
std::string http_get(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

cairn::Task<int> answer(cairn::Context& ctx, const cairn::Event&) {
  co_return co_await ctx.run("answer", [] { return 42; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return std::fprintf(stderr, "usage: consumer_dashboard DIR\n"), 2;
  auto engine = cairn::Engine::create({.dir = argv[1]});
  if (!engine->register_function({.id = "answer", .triggers = {cairn::on_event("ask")}}, answer)
           .ok() ||
      !engine->start().ok()) {
    return std::fprintf(stderr, "engine did not start\n"), 1;
  }
  auto sent = engine->send({.name = "ask"});
  if (!sent.ok() || sent->runs.empty() || !engine->wait_run(sent->runs.front()).ok()) {
    return std::fprintf(stderr, "the run did not finish\n"), 1;
  }
  auto dashboard = cairn::Dashboard::start(*engine, {});
  if (!dashboard.ok()) {
    return std::fprintf(stderr, "dashboard: %s\n", dashboard.status().to_string().c_str()), 1;
  }
  const std::string page = http_get((*dashboard)->port(), "/");
  const std::string runs = http_get((*dashboard)->port(), "/api/runs?function=answer");
  const bool ok = page.starts_with("HTTP/1.1 200") && page.find("<html") != std::string::npos &&
                  runs.starts_with("HTTP/1.1 200");
  const std::string id = "\"id\":" + std::to_string(sent->runs.front());
  std::printf("dashboard %s runs %d\n", ok ? "200" : "failed",
              runs.find(id) != std::string::npos ? 1 : 0);
  (*dashboard)->stop();
  return ok ? 0 : 1;
}
