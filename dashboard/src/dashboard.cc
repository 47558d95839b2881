// Dashboard (cairn/dashboard.h): owns the HTTP server, the thread that runs its accept loop, the
// throughput sampler and admin.json; the routes live in runs_routes.cc and engine_routes.cc.
#include "cairn/dashboard.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "access_policy.h"
#include "admin_file.h"
#include "api_reply.h"
#include "api_routes.h"
#include "route_table.h"
#include "throughput_sampler.h"

namespace cairn {
namespace {

// httplib's 413: a body over request_bytes_max (refused from its Content-Length, unread), or a
// form-encoded one (curl -d's default type) that it read and refused past its own 8 KiB limit.
// Naming request_bytes_max for the second sent users after the wrong limit.
std::string body_too_large(const httplib::Request& req, size_t request_bytes_max) {
  constexpr size_t kFormBytesMax = CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH;
  if (req.body.size() > kFormBytesMax &&
      req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    return "a form-encoded body (Content-Type: application/x-www-form-urlencoded) is limited to " +
           std::to_string(kFormBytesMax) +
           " bytes: send the JSON as Content-Type: application/json (up to " +
           std::to_string(request_bytes_max) + " bytes)";
  }
  return "request body over " + std::to_string(request_bytes_max) +
         " bytes (DashboardOptions::request_bytes_max)";
}

// httplib's thread pool with a bound on the connections it holds. httplib's accept loop hands
// every connection it accepts to the pool's queue, which has no bound: a client that opened
// connections faster than the threads closed them (an idle one holds a thread for the keep-alive
// second) made the process hold a descriptor for each. Here the accept loop waits while
// connections_max are open, and the connections after it wait in the system's listen queue.
class BoundedConnectionPool final : public httplib::TaskQueue {
 public:
  BoundedConnectionPool(size_t threads, size_t connections_max, const std::atomic<bool>& stopping)
      : pool_(threads), connections_max_(connections_max), stopping_(stopping) {}

  void enqueue(std::function<void()> fn) override {
    {
      std::unique_lock lock(mu_);
      // Polled: a stopping dashboard must not wait for a slot (its listening socket is closed,
      // so the connection is closed at once, here).
      while (open_ >= connections_max_ && !stopping_.load()) {
        freed_.wait_for(lock, std::chrono::milliseconds(50));
      }
      if (open_ >= connections_max_) {
        lock.unlock();
        fn();
        return;
      }
      ++open_;
    }
    pool_.enqueue([this, fn = std::move(fn)] {
      fn();
      std::lock_guard lock(mu_);
      --open_;
      freed_.notify_one();
    });
  }
  void shutdown() override { pool_.shutdown(); }
  void on_idle() override { pool_.on_idle(); }

 private:
  httplib::ThreadPool pool_;
  const size_t connections_max_;
  const std::atomic<bool>& stopping_;
  std::mutex mu_;
  std::condition_variable freed_;
  size_t open_ = 0;  // connections handed to the pool and not yet closed
};

}  // namespace

class Dashboard::Impl {
 public:
  Impl(Engine& engine, DashboardOptions options)
      : options_(std::move(options)),
        throughput_(engine, options_.throughput_window),
        api_{engine, options_, throughput_},
        loopback_(web::is_loopback_address(options_.bind)) {}
  ~Impl() { stop(); }

  Status listen();
  void stop();
  uint16_t port() const { return port_; }
  std::string url() const {
    return "http://" + web::url_host(options_.bind) + ":" + std::to_string(port_) + "/";
  }

 private:
  void configure_server();
  httplib::Server::HandlerResponse guard(const httplib::Request& req, httplib::Response& res);
  void answer_httplib_error(const httplib::Request& req, httplib::Response& res) const;

  const DashboardOptions options_;
  web::ThroughputSampler throughput_;
  const web::ApiContext api_;
  const bool loopback_;
  httplib::Server server_;
  web::RouteTable routes_{server_};
  std::thread accept_thread_;
  std::atomic<bool> loop_ended_{false};
  std::atomic<bool> stopping_{false};  // set before the server stops (BoundedConnectionPool)
  uint16_t port_ = 0;
  bool advertised_ = false;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

httplib::Server::HandlerResponse Dashboard::Impl::guard(const httplib::Request& req,
                                                        httplib::Response& res) {
  // Every answer is whole: httplib would cut it to the request's Range (JSON cut short under a
  // 200), and 2,600 ranges of "0-" fit in one header and repeat the body as many times in memory.
  // The request is httplib's own non-const object, handed to this hook as const: clearing the
  // ranges it parsed makes it ignore them, as a server may (RFC 9110, 14.2).
  const_cast<httplib::Request&>(req).ranges.clear();
  // Before the body is read: a request without the token costs no more than its headers.
  if (!options_.token.empty() && !web::request_has_token(req, options_.token)) {
    res.set_header("WWW-Authenticate", "Bearer");
    web::reply_error(res, 401,
                     "this dashboard needs its token: send `Authorization: Bearer <token>` or "
                     "open it as /?token=<token>");
    return httplib::Server::HandlerResponse::Handled;
  }
  if (std::string refusal = web::cross_site_refusal(req, loopback_); !refusal.empty()) {
    web::reply_error(res, 403, refusal);
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// httplib's own errors, with a JSON body like ours. No route for the method and path: 405 with
// Allow when the path takes other methods, else 404. A method httplib does not know ("BREW") is
// its 400, before any handler, the guard included: the same answer, from the request line alone.
// A body too large: 413.
void Dashboard::Impl::answer_httplib_error(const httplib::Request& req,
                                           httplib::Response& res) const {
  const std::string unknown_method_path =
      res.status == 400 ? web::path_of_unknown_method(req) : std::string();
  if (res.status == 404 || !unknown_method_path.empty()) {
    const std::string& path = unknown_method_path.empty() ? req.path : unknown_method_path;
    // httplib read no header of that request and takes the lines that follow for new requests:
    // the client must not send another on this connection.
    if (!unknown_method_path.empty()) res.set_header("Connection", "close");
    const std::string allowed = routes_.allowed_methods(path);
    if (allowed.empty()) return web::reply_error(res, 404, "not found: " + path.substr(0, 200));
    res.set_header("Allow", allowed);
    return web::reply_error(res, 405,
                            "method " + req.method.substr(0, 40) + " is not allowed on " +
                                path.substr(0, 200) + ": it takes " + allowed);
  }
  if (res.status == 413) {
    return web::reply_error(res, 413, body_too_large(req, options_.request_bytes_max));
  }
  web::reply_error(res, res.status, "request refused (HTTP " + std::to_string(res.status) + ")");
}

void Dashboard::Impl::configure_server() {
  server_.new_task_queue = [this] {
    return new BoundedConnectionPool(options_.threads, options_.connections_max, stopping_);
  };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second dashboard (of
  // another engine) could bind the same port and take half of its requests, and the tool's
  // writes for one engine would land in the other's log.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    (void)::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // a restart waits
  });
  // Bodies past the limit are refused (413) from their Content-Length, unread.
  server_.set_payload_max_length(options_.request_bytes_max);
  // An idle keep-alive connection holds a thread, and stop() waits for it: keep that short.
  server_.set_keep_alive_timeout(1);
  server_.set_read_timeout(5, 0);
  server_.set_write_timeout(5, 0);
  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return guard(req, res); });
  // An error a route answered has its body already; the others are httplib's own.
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        answer_httplib_error(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        web::reply_error(res, 500, what);
      });
  web::add_runs_routes(routes_, api_);
  web::add_engine_routes(routes_, api_);
}

Status Dashboard::Impl::listen() {
  configure_server();
  if (options_.port == 0) {
    const int port = server_.bind_to_any_port(options_.bind);
    if (port <= 0) {
      return Status(StatusCode::kIoError, "cannot listen on " + options_.bind + " (any port)");
    }
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_.bind_to_port(options_.bind, options_.port)) {
      return Status(StatusCode::kIoError, "cannot listen on " + options_.bind + ":" +
                                              std::to_string(options_.port) +
                                              " (in use, or not an address of this machine)");
    }
    port_ = options_.port;
  }
  // The socket listens already (connections queue); the loop accepts them. Wait until it runs,
  // so that a stop() right after start() finds a loop to end (httplib's stop() ends only a
  // running one).
  accept_thread_ = std::thread([this] {
    (void)server_.listen_after_bind();  // false when the socket failed; nothing to serve then
    loop_ended_.store(true);
  });
  while (!server_.is_running() && !loop_ended_.load()) std::this_thread::yield();
  if (options_.advertise) {
    Status st = web::write_admin_file(api_.engine.dir(), url(), !options_.token.empty());
    if (!st.ok()) return st.with_context("advertising the dashboard in admin.json");
    advertised_ = true;
  }
  return Status();
}

void Dashboard::Impl::stop() {
  std::lock_guard lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (advertised_) web::remove_admin_file(api_.engine.dir());
  if (accept_thread_.joinable()) {
    stopping_.store(true);
    server_.stop();
    accept_thread_.join();
  }
  throughput_.stop();
}

Result<std::unique_ptr<Dashboard>> Dashboard::start(Engine& engine, DashboardOptions options) {
  CAIRN_RETURN_IF_ERROR(web::check_dashboard_options(options));
  auto impl = std::make_unique<Impl>(engine, std::move(options));
  CAIRN_RETURN_IF_ERROR(impl->listen());  // on failure ~Impl stops what did start
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(impl)));
}

Status Dashboard::check_options(const DashboardOptions& options) {
  return web::check_dashboard_options(options);
}

Dashboard::Dashboard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dashboard::~Dashboard() {
  stop();
}
void Dashboard::stop() {
  impl_->stop();
}
uint16_t Dashboard::port() const {
  return impl_->port();
}
std::string Dashboard::url() const {
  return impl_->url();
}

}  // namespace cairn
