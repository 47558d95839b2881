// Dashboard: a web page and a JSON API over an in-process Engine — runs filtered and paged, a
// run's timeline, replay and cancel, events, functions with their queue depth, throughput.
// Built as the cairn_dashboard library (dashboard/), which links cpp-httplib; docs/dashboard.md
// lists the endpoints, the security rules and the limits.
//
//   auto dashboard = cairn::Dashboard::start(*engine, {.port = 8080});
//   std::printf("dashboard at %s\n", (*dashboard)->url().c_str());
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cairn/engine.h"
#include "cairn/log/status.h"

namespace cairn {

struct DashboardOptions {
  // Address to listen on. Default: 127.0.0.1 (this machine only). Any other address needs a
  // token: start() refuses it without one (kInvalidArgument).
  std::string bind = "127.0.0.1";
  // Port; 0 picks a free one (Dashboard::port() tells which). Default: 0.
  uint16_t port = 0;
  // When set, every request must carry `Authorization: Bearer <token>` or `?token=<token>`;
  // one without it gets 401. Required (non-empty) when bind is not a loopback address.
  // Default: none.
  std::string token{};
  // Writes <engine dir>/admin.json ({"url", "pid", "token_required"}; never the token) so that
  // `cairn` commands find the live engine; stop() removes it. Default: on.
  bool advertise = true;
  // Largest page GET /api/runs?limit= may ask for; more is refused with 400. Default: 500.
  size_t page_limit_max = 500;
  // Largest request body; a larger one is refused with 413 before it is read. Default: 1 MiB.
  size_t request_bytes_max = 1 << 20;
  // Bytes of one run's detail (GET /api/runs/ID): history entries are added, oldest first, while
  // the answer stays within it; the rest are left out ("history_truncated_by": "bytes").
  // At least 4 × run_detail_value_bytes_max. Default: 4 MiB.
  size_t run_detail_bytes_max = 4 << 20;
  // Bytes of one value in a run's detail (the event's data, the output, the error, a history
  // entry's value): a longer one is cut to its first bytes and a note of its size, as a string
  // ("output_truncated", "value_truncated", ... say so). At least 256. Default: 64 KiB.
  size_t run_detail_value_bytes_max = 64 << 10;
  // Threads that answer requests (more concurrent requests wait for one). Default: 4.
  uint32_t threads = 4;
  // Connections open at once: being answered, or accepted and waiting for a thread (each holds a
  // file descriptor of the process, which the engine's log and snapshots need too). Past it the
  // server accepts no more until one closes (the accept loop holds one more): further ones wait
  // in the system's listen queue, unaccepted, and are answered in turn. At least `threads`.
  // Default: 256.
  uint32_t connections_max = 256;
  // History the throughput plot keeps, one sample a second; older samples are dropped.
  // Default: 10 minutes.
  std::chrono::seconds throughput_window{600};
};

class Dashboard {
 public:
  // Listens and serves `engine` until stop(). The engine must outlive the Dashboard. Errors:
  // kInvalidArgument (a non-loopback bind without a token, zero threads), kIoError (the address
  // or port cannot be bound, admin.json cannot be written).
  static Result<std::unique_ptr<Dashboard>> start(Engine& engine, DashboardOptions options);
  // The check start() makes of `options` first (a command line can make it before it opens the
  // engine): kInvalidArgument naming the rule broken, such as a non-loopback bind with no token.
  static Status check_options(const DashboardOptions& options);
  ~Dashboard();  // stop()
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Stops listening, waits for the requests being answered, removes the admin.json it wrote.
  // Idempotent.
  void stop();
  uint16_t port() const;
  std::string url() const;  // http://127.0.0.1:PORT/ (the bind address when not 0.0.0.0)

 private:
  class Impl;
  explicit Dashboard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
