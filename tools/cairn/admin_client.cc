// AdminClient, read_admin_endpoint (see admin_client.h).
#include "admin_client.h"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "utf8_prefix.h"

namespace cairn::tools {
// A named namespace: the unity build joins anonymous namespaces of neighbouring files.
namespace admin_client_impl {

// The file a Dashboard writes in the engine's directory while it serves (docs/dashboard.md).
constexpr const char* kAdminFile = "admin.json";

bool process_alive(int64_t pid) {
  // Beyond pid_t, a cast would alias another process (or -1: every process).
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  // Signal 0 checks existence only; EPERM means it exists under another user.
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// "http://HOST:PORT/" -> "http://HOST:PORT", which httplib's client takes; "" for anything else
// (the Dashboard serves plain HTTP on a loopback or bound address, never a path).
std::string scheme_host_port(const std::string& url) {
  if (!url.starts_with("http://")) return {};
  std::string s = url;
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s.find('/', 7) != std::string::npos || s.size() <= 7) return {};
  return s;
}

// The API's answer as a Status: its {"error"} message, with the code that fits the HTTP status.
Status api_error(const std::string& what, int http_status, const std::string& body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  std::string message(utf8_prefix(body, 300));
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    message = doc["error"].get<std::string>();
  }
  StatusCode code = StatusCode::kInternal;
  switch (http_status) {
    case 400:
    case 409:
      code = StatusCode::kInvalidArgument;
      break;
    case 404:
      code = StatusCode::kNotFound;
      break;
    case 413:
      code = StatusCode::kLimitExceeded;
      break;
    case 503:
      code = StatusCode::kUnavailable;  // for now: runs_active_max, dedup_ids_max, a full disk
      break;
    case 401:
      code = StatusCode::kFailed;
      message = "the token was refused (HTTP 401: " + message + "); pass it with --token or " +
                "CAIRN_TOKEN";
      return Status(code, what + ": " + message);
    default:
      message = "HTTP " + std::to_string(http_status) + ": " + message;
      break;
  }
  return Status(code, message);
}

// One request and its answer, whose body is read up to `bytes_max`: past it the exchange stops
// (`over`; the rest is not read), so an endpoint that keeps sending cannot grow the command's
// memory (httplib reads a body whole by itself).
struct Answer {
  httplib::Error error = httplib::Error::Success;  // the request failed before an answer
  bool over = false;                               // the body passed bytes_max
  int status = 0;
  std::string body;
};
Answer exchange(httplib::Client& http, const std::string& method, const std::string& path,
                const std::string& body, size_t bytes_max) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  if (method != "GET") {
    req.body = body;
    req.set_header("Content-Type", "application/json");
  }
  Answer answer;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (n > bytes_max - answer.body.size()) {
      answer.over = true;
      return false;
    }
    answer.body.append(data, n);
    return true;
  };
  httplib::Result r = http.send(req);
  if (answer.over) return answer;
  if (!r) {
    answer.error = r.error();
    return answer;
  }
  answer.status = r->status;
  return answer;
}

Status answer_too_large(const std::string& what, size_t bytes_max) {
  return Status(StatusCode::kLimitExceeded,
                what + ": the answer is over " + std::to_string(bytes_max) +
                    " bytes (AdminClientOptions::answer_bytes_max); the rest was not read");
}

Result<nlohmann::json> parse_answer(const std::string& what, const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    return Status(StatusCode::kInternal,
                  what + ": the answer is not JSON: " + std::string(utf8_prefix(body, 200)));
  }
  return doc;
}

// A run of the API (its RUN object) as a LiveRun.
Result<LiveRun> live_run_of(const nlohmann::json& j) {
  if (!j.is_object()) return Status(StatusCode::kInternal, "a run that is not an object");
  LiveRun r;
  try {
    const nlohmann::json& id = j.at("id");
    r.id = id.is_string() ? std::stoull(id.get<std::string>()) : id.get<RunId>();
    r.function = j.value("function", "");
    const std::optional<RunStatus> status = parse_run_status(j.at("status").get<std::string>());
    if (!status) return Status(StatusCode::kInternal, "unknown run status in " + j.dump());
    r.status = *status;
    r.created_at_ms = j.value("created_at", int64_t{0});
    if (j.contains("error") && j["error"].is_string()) r.error = j["error"].get<std::string>();
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string("a run the API described oddly: ") + e.what());
  }
  return r;
}

RunId run_id_of(const nlohmann::json& j) {
  return j.is_string() ? std::stoull(j.get<std::string>()) : j.get<RunId>();
}

}  // namespace admin_client_impl

std::optional<RunStatus> parse_run_status(std::string_view name) {
  for (int s = 0; s <= static_cast<int>(RunStatus::kSkipped); ++s) {
    if (run_status_name(static_cast<RunStatus>(s)) == name) return static_cast<RunStatus>(s);
  }
  return std::nullopt;
}

std::string admin_token(const std::string& token_option) {
  if (!token_option.empty()) return token_option;
  const char* env = std::getenv("CAIRN_TOKEN");
  return env != nullptr ? std::string(env) : std::string();
}

Result<std::optional<AdminEndpoint>> read_admin_endpoint(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / admin_client_impl::kAdminFile;
  const auto bad = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument, file.string() + " is not a live engine's " +
                                                    "admin file (" + why + "); remove it if no " +
                                                    "engine serves " + dir.string());
  };
  // Only a regular file is read: opening a FIFO by this name would wait for a writer for good.
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(st)) return std::optional<AdminEndpoint>();  // none advertised
  if (!std::filesystem::is_regular_file(st)) return bad("not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::optional<AdminEndpoint>();  // gone since: no live engine advertises itself
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("url") || !doc["url"].is_string()) return bad("no \"url\"");
  if (!doc.contains("pid") || !doc["pid"].is_number_integer()) return bad("no \"pid\"");
  AdminEndpoint endpoint{.url = doc["url"].get<std::string>(),
                         .pid = doc["pid"].get<int64_t>(),
                         .token_required = doc.value("token_required", false)};
  if (admin_client_impl::scheme_host_port(endpoint.url).empty()) {
    return bad("\"url\" is not http://HOST:PORT/");
  }
  // Left behind by a process that is gone (killed before its Dashboard removed it): not live.
  if (!admin_client_impl::process_alive(endpoint.pid)) return std::optional<AdminEndpoint>();
  return std::optional<AdminEndpoint>(std::move(endpoint));
}

AdminClient::AdminClient(AdminEndpoint endpoint, const std::string& token,
                         const AdminClientOptions& options)
    : endpoint_(std::move(endpoint)),
      options_(options),
      http_(std::make_unique<httplib::Client>(admin_client_impl::scheme_host_port(endpoint_.url))) {
  http_->set_connection_timeout(options_.connect_timeout);
  http_->set_read_timeout(options_.request_timeout);
  http_->set_write_timeout(options_.request_timeout);
  if (!token.empty()) http_->set_bearer_token_auth(token);
}

AdminClient::~AdminClient() = default;

Result<std::optional<std::unique_ptr<AdminClient>>> AdminClient::connect(
    const std::filesystem::path& dir, const std::string& token, const AdminClientOptions& options) {
  using Connected = std::optional<std::unique_ptr<AdminClient>>;
  CAIRN_ASSIGN_OR_RETURN(std::optional<AdminEndpoint> endpoint, read_admin_endpoint(dir));
  if (!endpoint) return Connected();
  if (endpoint->token_required && token.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  dir.string() + " is in use by a running engine whose endpoint (" + endpoint->url +
                      ") requires a token: pass it with --token T or CAIRN_TOKEN");
  }
  std::unique_ptr<AdminClient> client(new AdminClient(*endpoint, token, options));
  // Whether it answers at all: a process that reused the pid of one that is gone does not.
  const admin_client_impl::Answer probe = admin_client_impl::exchange(
      *client->http_, "GET", "/api/stats", "", options.answer_bytes_max);
  if (probe.over) {
    return admin_client_impl::answer_too_large("the engine at " + endpoint->url,
                                               options.answer_bytes_max);
  }
  if (probe.error != httplib::Error::Success) {
    std::fprintf(stderr,
                 "cairn: %s/%s names %s (pid %lld), which does not answer (%s); using %s "
                 "directly\n",
                 dir.string().c_str(), admin_client_impl::kAdminFile, endpoint->url.c_str(),
                 static_cast<long long>(endpoint->pid), httplib::to_string(probe.error).c_str(),
                 dir.string().c_str());
    return Connected();
  }
  if (probe.status != 200) {
    return admin_client_impl::api_error("the engine at " + endpoint->url, probe.status, probe.body);
  }
  // The process that answered must be the one admin.json names: another engine's dashboard may
  // listen on that address now (its own process alive, this one's endpoint gone), and what the
  // command sends would be recorded in that engine's log.
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json stats,
                         admin_client_impl::parse_answer("stats", probe.body));
  const nlohmann::json* pid = stats.is_object() && stats.contains("pid") ? &stats["pid"] : nullptr;
  if (pid == nullptr || !pid->is_number_integer() || pid->get<int64_t>() != endpoint->pid) {
    return Status(StatusCode::kUnavailable,
                  dir.string() + "/" + admin_client_impl::kAdminFile + " names " + endpoint->url +
                      " (pid " + std::to_string(endpoint->pid) +
                      "), but the engine answering there is " +
                      (pid != nullptr && pid->is_number_integer()
                           ? "pid " + std::to_string(pid->get<int64_t>())
                           : std::string("another (it does not say its pid)")) +
                      ": not this directory's engine, so nothing was sent. Is pid " +
                      std::to_string(endpoint->pid) + " still serving " + dir.string() + "?");
  }
  return Connected(std::move(client));
}

Result<std::string> AdminClient::request(const std::string& method, const std::string& path,
                                         const std::string& body) {
  const std::string what = method + " " + endpoint_.url + path.substr(1);
  admin_client_impl::Answer r =
      admin_client_impl::exchange(*http_, method, path, body, options_.answer_bytes_max);
  if (r.over) return admin_client_impl::answer_too_large(what, options_.answer_bytes_max);
  if (r.error != httplib::Error::Success) {
    const StatusCode code =
        r.error == httplib::Error::Read ? StatusCode::kTimeout : StatusCode::kIoError;
    return Status(code, what + ": " + httplib::to_string(r.error));
  }
  if (r.status != 200) return admin_client_impl::api_error(what, r.status, r.body);
  return std::move(r.body);
}

Result<LiveRun> AdminClient::get_run(RunId id) {
  CAIRN_ASSIGN_OR_RETURN(const std::string body,
                         request("GET", "/api/runs/" + std::to_string(id), ""));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json doc, admin_client_impl::parse_answer("run", body));
  return admin_client_impl::live_run_of(doc);
}

Result<std::vector<LiveRun>> AdminClient::list_runs(const LiveRunFilter& filter) {
  std::vector<LiveRun> out;
  RunId before = 0;
  for (;;) {
    httplib::Params params{{"limit", std::to_string(options_.page_runs)}};
    if (!filter.function.empty()) params.emplace("function", filter.function);
    if (filter.status) params.emplace("status", std::string(run_status_name(*filter.status)));
    if (filter.since_ms) params.emplace("since", std::to_string(*filter.since_ms));
    if (before != 0) params.emplace("before", std::to_string(before));
    const std::string path = httplib::append_query_params("/api/runs", params);
    CAIRN_ASSIGN_OR_RETURN(const std::string body, request("GET", path, ""));
    CAIRN_ASSIGN_OR_RETURN(const nlohmann::json doc, admin_client_impl::parse_answer("runs", body));
    if (!doc.is_object() || !doc.contains("runs") || !doc["runs"].is_array()) {
      return Status(StatusCode::kInternal,
                    "GET /api/runs: no \"runs\" in " + std::string(utf8_prefix(body, 200)));
    }
    for (const nlohmann::json& j : doc["runs"]) {
      CAIRN_ASSIGN_OR_RETURN(LiveRun r, admin_client_impl::live_run_of(j));
      if (out.size() >= options_.listed_runs_max) {
        return Status(StatusCode::kLimitExceeded,
                      "more than " + std::to_string(options_.listed_runs_max) +
                          " runs match (AdminClientOptions::listed_runs_max); narrow it down");
      }
      out.push_back(std::move(r));
    }
    const nlohmann::json next = doc.value("next", nlohmann::json(0));
    const RunId next_id = next.is_null() ? 0 : admin_client_impl::run_id_of(next);
    // A page that does not move down the ids would loop forever: the end, whatever it claims.
    if (next_id == 0 || doc["runs"].empty() || (before != 0 && next_id >= before)) break;
    before = next_id;
  }
  return out;
}

Result<RunId> AdminClient::replay_run(RunId id, Engine::ReplayFrom from) {
  const nlohmann::json body{{"from", from == Engine::ReplayFrom::kStart ? "start" : "failed_step"}};
  CAIRN_ASSIGN_OR_RETURN(
      const std::string answer,
      request("POST", "/api/runs/" + std::to_string(id) + "/replay", body.dump()));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json doc,
                         admin_client_impl::parse_answer("replay", answer));
  if (!doc.is_object() || !doc.contains("run")) {
    return Status(StatusCode::kInternal,
                  "replay: no \"run\" in " + std::string(utf8_prefix(answer, 200)));
  }
  return admin_client_impl::run_id_of(doc["run"]);
}

Status AdminClient::cancel_run(RunId id, const std::string& reason) {
  const nlohmann::json body{{"reason", reason}};
  return request("POST", "/api/runs/" + std::to_string(id) + "/cancel",
                 body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .status();
}

Result<size_t> AdminClient::registered_function_count() {
  CAIRN_ASSIGN_OR_RETURN(const std::string body, request("GET", "/api/functions", ""));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json doc,
                         admin_client_impl::parse_answer("functions", body));
  if (!doc.is_array()) {
    return Status(StatusCode::kInternal,
                  "GET /api/functions: not a list: " + std::string(utf8_prefix(body, 200)));
  }
  // The list also names functions that only the log knows (runs of theirs, no code here).
  size_t registered = 0;
  for (const nlohmann::json& f : doc) {
    const bool yes = f.is_object() && f.contains("registered") && f["registered"].is_boolean() &&
                     f["registered"].get<bool>();
    registered += yes ? 1 : 0;
  }
  return registered;
}

Result<LiveSendResult> AdminClient::send_event(const std::string& name,
                                               const std::string& data_json,
                                               const std::string& id) {
  nlohmann::json body{{"name", name}, {"data", nlohmann::json::parse(data_json, nullptr, false)}};
  if (body["data"].is_discarded()) {
    return Status(StatusCode::kInvalidArgument, "the event's data is not JSON");
  }
  if (!id.empty()) body["id"] = id;
  CAIRN_ASSIGN_OR_RETURN(
      const std::string answer,
      request("POST", "/api/events",
              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json doc,
                         admin_client_impl::parse_answer("event", answer));
  LiveSendResult out;
  try {
    out.event_id = doc.at("event_id").get<std::string>();
    out.duplicate = doc.value("duplicate", false);
    for (const nlohmann::json& r : doc.value("runs", nlohmann::json::array())) {
      out.runs.push_back(admin_client_impl::run_id_of(r));
    }
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal,
                  std::string("POST /api/events: an answer described oddly: ") + e.what());
  }
  return out;
}

}  // namespace cairn::tools
