// A live engine's admin endpoint, from the `cairn` side: finding it (DIR/admin.json, which a
// cairn::Dashboard writes while it serves the engine that holds DIR) and the requests the write
// commands (runs replay, runs cancel, events send) make to its JSON API over loopback HTTP
// (cpp-httplib's client). docs/dashboard.md describes the API; this is its only client here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/engine.h"
#include "cairn/log/status.h"

namespace httplib {
class Client;
}

namespace cairn::tools {

// What DIR/admin.json says: {"url", "pid", "token_required"}.
struct AdminEndpoint {
  std::string url;  // http://127.0.0.1:PORT/
  int64_t pid = 0;  // the process that serves it
  bool token_required = false;
};

struct AdminClientOptions {
  // Connecting to the endpoint: past this the request fails (kIoError). Default: 5 s.
  std::chrono::seconds connect_timeout{5};
  // Waiting for one answer (a replay or an event is durable before it is answered): past this the
  // request fails (kTimeout) and the command stops. Default: 60 s.
  std::chrono::seconds request_timeout{60};
  // Runs asked for per GET /api/runs page (the dashboard refuses more than its page_limit_max,
  // 500 by default). Default: 500.
  size_t page_runs = 500;
  // Runs one listing (runs replay --failed, runs cancel --function, the waiting runs events send
  // compares) may collect over all its pages; past it the listing fails (kLimitExceeded) and
  // nothing is changed. Default: 1,000,000.
  size_t listed_runs_max = 1'000'000;
  // Bytes of one answer's body read from the endpoint; past it the request fails
  // (kLimitExceeded, naming this option) and the rest is not read. The dashboard's largest
  // answers (a page of page_limit_max runs, a run's detail within run_detail_bytes_max) stay far
  // below it. Default: 256 MiB.
  size_t answer_bytes_max = 256u << 20;
};

// A run as GET /api/runs and GET /api/runs/ID describe it (the fields the commands print).
struct LiveRun {
  RunId id = 0;
  std::string function;
  RunStatus status = RunStatus::kQueued;
  int64_t created_at_ms = 0;
  std::string error;
};

// Which runs a listing asks for (GET /api/runs query parameters; empty/unset: any).
struct LiveRunFilter {
  std::string function;
  std::optional<RunStatus> status;
  std::optional<int64_t> since_ms;  // created at or after (unix milliseconds)
};

// What POST /api/events answered.
struct LiveSendResult {
  std::string event_id;
  bool duplicate = false;
  std::vector<RunId> runs;
};

class AdminClient {
 public:
  // The live engine serving DIR, ready for requests, when DIR/admin.json names a process that is
  // alive and whose endpoint answers; nullopt when there is none (no admin.json, or one left by a
  // process that is gone): the caller works on DIR itself. `token` (from --token or CAIRN_TOKEN)
  // is sent as `Authorization: Bearer`; an endpoint that requires one and none given is
  // kInvalidArgument, saying how to pass it.
  static Result<std::optional<std::unique_ptr<AdminClient>>> connect(
      const std::filesystem::path& dir, const std::string& token,
      const AdminClientOptions& options = {});
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  const AdminEndpoint& endpoint() const { return endpoint_; }

  // Errors of the calls below. The API's refusals carry its message: 404 kNotFound, 400 and 409
  // kInvalidArgument (a run that is not failed, a bad event), 413 kLimitExceeded, 503
  // kUnavailable (for now: runs_active_max, dedup_ids_max, or a full disk); a rejected
  // token (401) kFailed; the endpoint gone or not answering kIoError / kTimeout; anything else
  // kInternal.
  Result<LiveRun> get_run(RunId id);
  // Every run that matches, over as many pages as it takes (newest first).
  Result<std::vector<LiveRun>> list_runs(const LiveRunFilter& filter);
  // POST /api/runs/ID/replay: the new run's id.
  Result<RunId> replay_run(RunId id, Engine::ReplayFrom from);
  Status cancel_run(RunId id, const std::string& reason);
  // How many functions the engine registers (GET /api/functions, those with "registered": true;
  // the list also names functions only its log knows): 0 for `cairn serve`, whose engine runs
  // nothing, so what is sent through it runs when the application's engine starts.
  Result<size_t> registered_function_count();
  // POST /api/events; `data_json` is the event's data as JSON text (an object).
  Result<LiveSendResult> send_event(const std::string& name, const std::string& data_json,
                                    const std::string& id);

 private:
  AdminClient(AdminEndpoint endpoint, const std::string& token, const AdminClientOptions& options);
  // One request to the API; the answer's JSON, or the error as above.
  Result<std::string> request(const std::string& method, const std::string& path,
                              const std::string& body);

  AdminEndpoint endpoint_;
  AdminClientOptions options_;
  std::unique_ptr<httplib::Client> http_;
};

// DIR/admin.json when it names a process that is alive; nullopt when there is no admin.json or
// its process is gone. An admin.json that cannot be read or is not what the Dashboard writes is
// an error (kInvalidArgument, naming the file).
Result<std::optional<AdminEndpoint>> read_admin_endpoint(const std::filesystem::path& dir);

// The token for a live engine: --token when given, else $CAIRN_TOKEN, else "".
std::string admin_token(const std::string& token_option);

// The RunStatus a name of run_status_name() stands for; nullopt for another name.
std::optional<RunStatus> parse_run_status(std::string_view name);

}  // namespace cairn::tools
