// WebDriverSession (see webdriver_session.h): chromedriver as a child process, the W3C WebDriver
// commands the end-to-end test uses, and base64 for screenshots.
#include "support/webdriver_session.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <thread>

#include <httplib.h>

namespace cairn::testing {
namespace webdriver_impl {

// The key W3C WebDriver names an element reference with.
constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

// A loopback port nobody listens on now (the kernel picks it; chromedriver binds it just after,
// so another process could take it in between: start() then fails and says so).
Result<uint16_t> free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_status(err, "binding a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A WebDriver error response ({"value": {"error", "message"}}) as a Status.
Status webdriver_error(const std::string& what, int http_status, const std::string& body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  std::string error = "HTTP " + std::to_string(http_status);
  std::string message = body.substr(0, 500);
  if (doc.is_object() && doc.contains("value") && doc["value"].is_object()) {
    const nlohmann::json& v = doc["value"];
    if (v.contains("error") && v["error"].is_string()) error = v["error"].get<std::string>();
    if (v.contains("message") && v["message"].is_string()) {
      message = v["message"].get<std::string>().substr(0, 1000);
    }
  }
  const StatusCode code = error == "no such element" ? StatusCode::kNotFound
                          : error == "timeout"       ? StatusCode::kTimeout
                                                     : StatusCode::kFailed;
  // The WebDriver error name leads, so that is_transient_element_error() can tell it.
  return Status(code, error + ": " + what + ": " + message);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace webdriver_impl

Result<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  int nbits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = webdriver_impl::base64_value(c);
    if (v < 0 || padding) {
      return Status(StatusCode::kInvalidArgument, "not base64: a '" + std::string(1, c) + "'");
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return out;
}

bool WebDriverSession::is_transient_element_error(const Status& status) {
  const std::string& m = status.message();
  return m.starts_with("stale element reference") || m.starts_with("element not interactable") ||
         m.starts_with("element click intercepted");
}

WebDriverSession::WebDriverSession(const WebDriverOptions& options, uint16_t port)
    : options_(options), port_(port) {}

WebDriverSession::~WebDriverSession() {
  (void)close();  // the destructor cannot report it; callers that care call close()
}

Result<std::unique_ptr<WebDriverSession>> WebDriverSession::start(const WebDriverOptions& options) {
  if (options.work_dir.empty()) {
    return Status(StatusCode::kInvalidArgument, "WebDriverOptions::work_dir is required");
  }
  for (const std::filesystem::path& p : {options.chromedriver, options.chromium}) {
    if (::access(p.c_str(), X_OK) != 0) {
      return Status(StatusCode::kNotFound, p.string() +
                                               " is not installed (Debian: apt-get install "
                                               "chromium chromium-driver)");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(const uint16_t port, webdriver_impl::free_loopback_port());
  std::unique_ptr<WebDriverSession> session(new WebDriverSession(options, port));
  if (Status st = session->launch(); !st.ok()) {
    const std::string log = session->driver_log_tail();
    (void)session->close();
    return st.with_context("starting chromedriver and Chromium (chromedriver's log: " + log + ")");
  }
  return session;
}

Status WebDriverSession::launch() {
  std::error_code ec;
  std::filesystem::create_directories(options_.work_dir, ec);
  if (ec) return Status(StatusCode::kIoError, "creating " + options_.work_dir.string());
  driver_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{options_.chromedriver.string(), "--port=" + std::to_string(port_)},
      ChildOptions{.output = options_.work_dir / "chromedriver.log"});
  if (!driver_->started()) return Status(StatusCode::kFailed, driver_->start_error());

  http_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  http_->set_connection_timeout(std::chrono::seconds(2));
  http_->set_read_timeout(options_.command_timeout);
  http_->set_write_timeout(options_.command_timeout);

  // Ready when GET /status says so; polled, since chromedriver gives no other sign.
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  for (;;) {
    if (httplib::Result r = http_->Get("/status"); r && r->status == 200) {
      const nlohmann::json doc = nlohmann::json::parse(r->body, nullptr, false);
      if (!doc.is_discarded() && doc.value(nlohmann::json::json_pointer("/value/ready"), false))
        break;
    }
    if (driver_->wait_for_exit(std::chrono::milliseconds(0))) {
      return Status(StatusCode::kFailed, "chromedriver " + driver_->how());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kTimeout,
                    "chromedriver did not answer GET /status on port " + std::to_string(port_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  const nlohmann::json args = {
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      // chromedriver talks to the browser over a pipe, not over TCP to "localhost": a machine
      // without an /etc/hosts (a minimal Debian root) cannot resolve that name.
      "--remote-debugging-pipe",
      "--window-size=" + std::to_string(options_.window_width) + "," +
          std::to_string(options_.window_height),
      "--user-data-dir=" + (options_.work_dir / "profile").string(),
  };
  const nlohmann::json caps = {
      {"capabilities",
       {{"alwaysMatch",
         {{"browserName", "chrome"},
          {"goog:chromeOptions", {{"binary", options_.chromium.string()}, {"args", args}}}}}}}};
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json value, command("POST", "/session", caps));
  if (!value.contains("sessionId") || !value["sessionId"].is_string()) {
    return Status(StatusCode::kFailed, "new session: no sessionId in " + value.dump());
  }
  session_id_ = value["sessionId"].get<std::string>();
  return Status();
}

Result<nlohmann::json> WebDriverSession::command(const char* method, const std::string& path,
                                                 const nlohmann::json& body) {
  const std::string what = std::string(method) + " " + path;
  if (!http_) return Status(StatusCode::kClosed, what + ": the session is closed");
  const std::string method_name(method);
  httplib::Result r = method_name == "GET" ? http_->Get(path)
                      : method_name == "DELETE"
                          ? http_->Delete(path)
                          : http_->Post(path, body.dump(), "application/json");
  if (!r) {
    const StatusCode code =
        r.error() == httplib::Error::Read ? StatusCode::kTimeout : StatusCode::kIoError;
    return Status(code, what + ": " + httplib::to_string(r.error()));
  }
  if (r->status != 200) return webdriver_impl::webdriver_error(what, r->status, r->body);
  nlohmann::json doc = nlohmann::json::parse(r->body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("value")) {
    return Status(StatusCode::kFailed,
                  what + ": not a WebDriver response: " + r->body.substr(0, 200));
  }
  return std::move(doc["value"]);
}

std::string WebDriverSession::session_path(const std::string& tail) const {
  return "/session/" + session_id_ + tail;
}

Status WebDriverSession::navigate(const std::string& url) {
  return command("POST", session_path("/url"), {{"url", url}}).status();
}

Result<std::optional<WebElement>> WebDriverSession::find(const std::string& css) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<WebElement> all, find_all(css));
  if (all.empty()) return std::optional<WebElement>();
  return std::optional<WebElement>(std::move(all.front()));
}

Result<std::vector<WebElement>> WebDriverSession::find_all(const std::string& css) {
  // find-elements, not find-element: no match is an empty list rather than an error.
  CAIRN_ASSIGN_OR_RETURN(
      const nlohmann::json value,
      command("POST", session_path("/elements"), {{"using", "css selector"}, {"value", css}}));
  if (!value.is_array()) return Status(StatusCode::kFailed, "find " + css + ": " + value.dump());
  std::vector<WebElement> out;
  for (const nlohmann::json& e : value) {
    if (!e.is_object() || !e.contains(webdriver_impl::kElementKey)) {
      return Status(StatusCode::kFailed, "find " + css + ": not an element: " + e.dump());
    }
    out.push_back(WebElement{e[webdriver_impl::kElementKey].get<std::string>()});
  }
  return out;
}

Status WebDriverSession::click(const WebElement& element) {
  return command("POST", session_path("/element/" + element.id + "/click")).status();
}

Result<std::optional<std::string>> WebDriverSession::attribute(const WebElement& element,
                                                               const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(
      const nlohmann::json value,
      command("GET", session_path("/element/" + element.id + "/attribute/" + name)));
  if (value.is_null()) return std::optional<std::string>();
  if (!value.is_string()) return std::optional<std::string>(value.dump());
  return std::optional<std::string>(value.get<std::string>());
}

Result<std::string> WebDriverSession::text(const WebElement& element) {
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json value,
                         command("GET", session_path("/element/" + element.id + "/text")));
  if (!value.is_string()) return Status(StatusCode::kFailed, "element text: " + value.dump());
  return value.get<std::string>();
}

Result<nlohmann::json> WebDriverSession::execute(const std::string& script, nlohmann::json args) {
  return command("POST", session_path("/execute/sync"),
                 {{"script", script}, {"args", std::move(args)}});
}

Status WebDriverSession::screenshot(const std::filesystem::path& png) {
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json value, command("GET", session_path("/screenshot")));
  if (!value.is_string()) return Status(StatusCode::kFailed, "screenshot: not a string");
  CAIRN_ASSIGN_OR_RETURN(const std::string bytes, decode_base64(value.get<std::string>()));
  std::error_code ec;
  if (png.has_parent_path()) std::filesystem::create_directories(png.parent_path(), ec);
  std::ofstream out(png, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status(StatusCode::kIoError, "writing " + png.string());
  return Status();
}

Status WebDriverSession::close() {
  Status first;
  if (!session_id_.empty()) {
    // Ending the session makes chromedriver quit the browser (and remove nothing of ours).
    first = command("DELETE", session_path("")).status();
    session_id_.clear();
  }
  if (driver_ && driver_->running()) {
    // chromedriver's own way out; then a signal, then SIGKILL (which would orphan a browser
    // that is still open: the steps before make that the last resort).
    if (http_) (void)http_->Get("/shutdown");
    if (!driver_->wait_for_exit(std::chrono::seconds(10))) {
      driver_->send_signal(SIGTERM);
      if (!driver_->wait_for_exit(std::chrono::seconds(5))) driver_->kill_and_reap();
    }
  }
  http_.reset();
  return first;
}

std::string WebDriverSession::driver_log_tail() const {
  return tail_of_file(options_.work_dir / "chromedriver.log", 2000);
}

}  // namespace cairn::testing
