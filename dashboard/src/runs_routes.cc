// The runs' routes: GET /api/runs (a filtered page), GET /api/runs/ID (one run with its
// history), POST /api/runs/ID/replay and POST /api/runs/ID/cancel.
#include <httplib.h>

#include "api_params.h"
#include "api_reply.h"
#include "api_routes.h"
#include "route_table.h"
#include "run_detail.h"
#include "run_json.h"

namespace cairn::web {
namespace {

constexpr size_t kRunsPageDefault = 50;
constexpr size_t kFunctionIdBytesMax = 1024;  // longer than any id the engine accepts
constexpr size_t kCancelReasonBytesMax = 4096;

// The query a GET /api/runs asks for, or the 400 message.
Result<RunQuery> runs_query(const httplib::Request& req, size_t limit_max) {
  RunQuery q{.limit = std::min(kRunsPageDefault, limit_max)};
  if (req.has_param("function")) {
    q.function_id = req.get_param_value("function");
    if (q.function_id.size() > kFunctionIdBytesMax) {
      return Status(StatusCode::kInvalidArgument, "function: too long");
    }
  }
  if (req.has_param("status") && !req.get_param_value("status").empty()) {
    CAIRN_ASSIGN_OR_RETURN(RunStatus s, parse_run_status(req.get_param_value("status")));
    q.status = s;
  }
  if (req.has_param("since") && !req.get_param_value("since").empty()) {
    CAIRN_ASSIGN_OR_RETURN(q.created_after, parse_time(req.get_param_value("since")));
  }
  if (req.has_param("before") && req.get_param_value("before") != "0") {
    CAIRN_ASSIGN_OR_RETURN(q.before, parse_run_id(req.get_param_value("before")));
  }
  if (req.has_param("limit")) {
    CAIRN_ASSIGN_OR_RETURN(q.limit, parse_page_limit(req.get_param_value("limit"), limit_max));
  }
  return q;
}

void list_runs(const ApiContext& api, const httplib::Request& req, httplib::Response& res) {
  Result<RunQuery> q = runs_query(req, api.options.page_limit_max);
  if (!q.ok()) return reply_error(res, 400, q.status().message());
  const RunPage page = api.engine.list_runs(*q);
  nlohmann::json runs = nlohmann::json::array();
  for (const RunInfo& r : page.runs) runs.push_back(run_summary_json(r));
  reply_json(res, {{"runs", std::move(runs)}, {"next", page.next}});
}

void show_run(const ApiContext& api, const httplib::Request& req, httplib::Response& res) {
  Result<RunId> id = parse_run_id(req.matches[1].str());
  if (!id.ok()) return reply_error(res, 400, id.status().message());
  Result<RunInfo> run = api.engine.get_run(*id);
  if (!run.ok()) return reply_engine_error(res, run.status(), 400);
  const DetailLimits limits{.bytes_max = api.options.run_detail_bytes_max,
                            .value_bytes_max = api.options.run_detail_value_bytes_max,
                            .entries_max = kHistoryEntriesMax};
  Result<std::vector<HistoryEntry>> history = api.engine.run_history(*id, history_limits(limits));
  if (!history.ok() && history.status().code() != StatusCode::kNotFound) {
    return reply_engine_error(res, history.status(), 400);
  }
  // kNotFound: retention removed the run's first records (history_window) while the engine still
  // keeps the run. The run is shown without its history, saying why, rather than as no run at all.
  static const std::vector<HistoryEntry> kNoHistory;
  // A reference to either: a conditional with a temporary on one side would copy the history.
  const std::vector<HistoryEntry>& entries = history.ok() ? *history : kNoHistory;
  nlohmann::json doc = run_detail_json(*run, entries, limits);
  doc["history_removed"] =
      history.ok() ? nlohmann::json(nullptr) : nlohmann::json(history.status().message());
  reply_json(res, doc);
}

void replay_run(const ApiContext& api, const httplib::Request& req, httplib::Response& res) {
  Result<RunId> id = parse_run_id(req.matches[1].str());
  if (!id.ok()) return reply_error(res, 400, id.status().message());
  Result<nlohmann::json> body = parse_json_object_body(req.body);
  if (!body.ok()) return reply_error(res, 400, body.status().message());
  Engine::ReplayFrom from = Engine::ReplayFrom::kFailedStep;
  if (body->contains("from")) {
    const nlohmann::json& f = (*body)["from"];
    if (f == "start") {
      from = Engine::ReplayFrom::kStart;
    } else if (f != "failed_step") {
      return reply_error(res, 400, "from must be \"failed_step\" or \"start\"");
    }
  }
  // An unknown run is 404; one whose state does not allow the replay (unfinished, not failed,
  // invoked a run no longer in memory) is 409 with the engine's reason.
  if (Result<RunInfo> run = api.engine.get_run(*id); !run.ok()) {
    return reply_engine_error(res, run.status(), 400);
  }
  Result<RunId> replay = api.engine.replay_run(*id, from);
  if (!replay.ok()) return reply_engine_error(res, replay.status(), 409);
  reply_json(res, {{"run", *replay}});
}

void cancel_run(const ApiContext& api, const httplib::Request& req, httplib::Response& res) {
  Result<RunId> id = parse_run_id(req.matches[1].str());
  if (!id.ok()) return reply_error(res, 400, id.status().message());
  Result<nlohmann::json> body = parse_json_object_body(req.body);
  if (!body.ok()) return reply_error(res, 400, body.status().message());
  std::string reason = "cancelled from the dashboard";
  if (body->contains("reason")) {
    const nlohmann::json& r = (*body)["reason"];
    if (!r.is_string() || r.get<std::string>().size() > kCancelReasonBytesMax) {
      return reply_error(
          res, 400,
          "reason must be a string of at most " + std::to_string(kCancelReasonBytesMax) + " bytes");
    }
    if (!r.get<std::string>().empty()) reason = r.get<std::string>();
  }
  // A finished run is 409 (nothing to cancel); an unknown one 404.
  if (Status st = api.engine.cancel(*id, reason); !st.ok()) {
    return reply_engine_error(res, st, 409);
  }
  reply_json(res, {{"ok", true}});
}

}  // namespace

void add_runs_routes(RouteTable& routes, const ApiContext& api) {
  routes.get("/api/runs", [&api](const httplib::Request& req, httplib::Response& res) {
    list_runs(api, req, res);
  });
  routes.get(R"(/api/runs/([^/]+))", [&api](const httplib::Request& req, httplib::Response& res) {
    show_run(api, req, res);
  });
  routes.post(
      R"(/api/runs/([^/]+)/replay)",
      [&api](const httplib::Request& req, httplib::Response& res) { replay_run(api, req, res); });
  routes.post(
      R"(/api/runs/([^/]+)/cancel)",
      [&api](const httplib::Request& req, httplib::Response& res) { cancel_run(api, req, res); });
}

}  // namespace cairn::web
