// The engine's routes: POST /api/events, GET /api/functions, GET /api/stats,
// GET /api/throughput, and GET / (the page).
#include <httplib.h>
#include <unistd.h>

#include "api_params.h"
#include "api_reply.h"
#include "api_routes.h"
#include "embedded_page.h"
#include "route_table.h"
#include "run_json.h"

namespace cairn::web {
namespace {

// The event a POST /api/events body describes, or the 400 message.
Result<Event> event_from_body(const nlohmann::json& body) {
  Event event;
  if (!body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty()) {
    return Status(StatusCode::kInvalidArgument, "name: a non-empty string is required");
  }
  event.name = body["name"].get<std::string>();
  if (body.contains("data")) {
    if (!body["data"].is_object()) {
      return Status(StatusCode::kInvalidArgument, "data must be a JSON object");
    }
    event.data = body["data"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (body.contains("id") && !body["id"].is_null()) {
    const nlohmann::json& id = body["id"];
    if (id.is_string()) {
      event.id = id.get<std::string>();
    } else if (id.is_number_integer()) {
      event.id = id.dump();
    } else {
      return Status(StatusCode::kInvalidArgument, "id must be a string or an integer");
    }
  }
  return event;
}

void send_event(const ApiContext& api, const httplib::Request& req, httplib::Response& res) {
  Result<nlohmann::json> body = parse_json_object_body(req.body);
  if (!body.ok()) return reply_error(res, 400, body.status().message());
  Result<Event> event = event_from_body(*body);
  if (!event.ok()) return reply_error(res, 400, event.status().message());
  Result<SendResult> sent = api.engine.send(*event);
  if (!sent.ok()) return reply_engine_error(res, sent.status(), 400);
  reply_json(res,
             {{"event_id", sent->event_id}, {"duplicate", sent->duplicate}, {"runs", sent->runs}});
}

void list_functions(const ApiContext& api, httplib::Response& res) {
  nlohmann::json out = nlohmann::json::array();
  for (const FunctionStats& f : api.engine.function_stats()) out.push_back(function_stats_json(f));
  reply_json(res, out);
}

void show_stats(const ApiContext& api, httplib::Response& res) {
  nlohmann::json doc = engine_stats_json(api.engine.stats());
  size_t registered = 0;
  for (const FunctionStats& f : api.engine.function_stats()) registered += f.registered ? 1 : 0;
  // No function registered: the page says that replays, cancels and events are recorded and run
  // when the application's engine starts (`cairn serve` on a stopped engine's directory).
  doc["functions_registered"] = registered;
  // The process serving it: the tool checks it against DIR/admin.json's, so that it never sends
  // one engine's writes to another that answers on the same address.
  doc["pid"] = static_cast<int64_t>(::getpid());
  reply_json(res, doc);
}

void show_throughput(const ApiContext& api, httplib::Response& res) {
  nlohmann::json samples = nlohmann::json::array();
  for (const ThroughputSample& s : api.throughput.samples()) {
    samples.push_back({{"t", s.t_ms}, {"steps", s.steps}, {"runs_finished", s.runs_finished}});
  }
  reply_json(res, {{"interval_s", 1},
                   {"window_s", api.options.throughput_window.count()},
                   {"samples", std::move(samples)}});
}

void show_page(httplib::Response& res) {
  const std::string_view page = embedded_page();
  res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  // The page is self-contained: it loads nothing and talks only to this server. Its script
  // and style are inline (one document, no other route), hence 'unsafe-inline'; the script
  // puts every value from the API into the page as text, never as markup.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                 "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'");
  res.set_header("Referrer-Policy", "no-referrer");  // a ?token= must not travel on
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
}

}  // namespace

void add_engine_routes(RouteTable& routes, const ApiContext& api) {
  routes.post("/api/events", [&api](const httplib::Request& req, httplib::Response& res) {
    send_event(api, req, res);
  });
  routes.get("/api/functions",
             [&api](const httplib::Request&, httplib::Response& res) { list_functions(api, res); });
  routes.get("/api/stats",
             [&api](const httplib::Request&, httplib::Response& res) { show_stats(api, res); });
  routes.get("/api/throughput", [&api](const httplib::Request&, httplib::Response& res) {
    show_throughput(api, res);
  });
  routes.get("/", [](const httplib::Request&, httplib::Response& res) { show_page(res); });
}

}  // namespace cairn::web
