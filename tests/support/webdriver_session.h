// A W3C WebDriver session in headless Chromium, for the dashboard's end-to-end test: starts
// chromedriver (a child process on a free loopback port), opens a session whose browser has its
// own temporary profile, and drives it over HTTP (cpp-httplib's client, JSON via nlohmann_json):
// navigate, find elements by CSS selector, click, read attributes and text, run a script, save a
// screenshot. Every failure is a Status whose message says what was asked and what WebDriver said.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cairn/log/status.h"
#include "support/child_process.h"

namespace httplib {
class Client;
}

namespace cairn::testing {

struct WebDriverOptions {
  std::filesystem::path chromedriver = "/usr/bin/chromedriver";
  std::filesystem::path chromium = "/usr/bin/chromium";
  // The browser's profile (--user-data-dir) and chromedriver's log go here. Required; the caller
  // owns it (a TempDir), so nothing of the browser outlives the test.
  std::filesystem::path work_dir{};
  // chromedriver must answer GET /status within this after it was spawned, else start() fails
  // (with the tail of its log). Default: 30 s.
  std::chrono::milliseconds start_timeout{30'000};
  // How long one WebDriver command may take (new session starts the browser: the slowest).
  // A command that takes longer fails with kTimeout. Default: 60 s.
  std::chrono::seconds command_timeout{60};
  uint32_t window_width = 1400;
  uint32_t window_height = 900;
};

// An element of the page as WebDriver names it (valid until the page replaces the element: then
// commands on it fail with a message that starts with "stale element reference").
struct WebElement {
  std::string id;
};

class WebDriverSession {
 public:
  // chromedriver started and a headless Chromium session opened in it.
  static Result<std::unique_ptr<WebDriverSession>> start(const WebDriverOptions& options);
  ~WebDriverSession();  // close()
  WebDriverSession(const WebDriverSession&) = delete;
  WebDriverSession& operator=(const WebDriverSession&) = delete;

  Status navigate(const std::string& url);
  // The first element that matches `css`; nullopt when none does (not an error: callers poll).
  Result<std::optional<WebElement>> find(const std::string& css);
  Result<std::vector<WebElement>> find_all(const std::string& css);
  Status click(const WebElement& element);
  // nullopt when the element has no such attribute.
  Result<std::optional<std::string>> attribute(const WebElement& element, const std::string& name);
  Result<std::string> text(const WebElement& element);
  // Runs `script` (a function body: `return ...;`) in the page with `args`; its return value.
  Result<nlohmann::json> execute(const std::string& script,
                                 nlohmann::json args = nlohmann::json::array());
  // The viewport as a PNG file at `png` (its directory is created).
  Status screenshot(const std::filesystem::path& png);

  // Ends the session (the browser quits) and stops chromedriver. Idempotent; the destructor
  // calls it. The first error is returned, but every step is tried.
  Status close();

  // chromedriver's own output, for failure messages.
  std::string driver_log_tail() const;

  // Whether a Status from this class is one a page that is still rendering causes, so finding
  // the element again a moment later may succeed: WebDriver's "stale element reference" (the page
  // replaced the element), "element not interactable" (not shown yet), "element click
  // intercepted" (something else is on top of it for now).
  static bool is_transient_element_error(const Status& status);

 private:
  WebDriverSession(const WebDriverOptions& options, uint16_t port);
  Status launch();
  // One WebDriver command: `method` "GET", "POST" or "DELETE" on `path`; the response's "value".
  Result<nlohmann::json> command(const char* method, const std::string& path,
                                 const nlohmann::json& body = nlohmann::json::object());
  std::string session_path(const std::string& tail) const;

  WebDriverOptions options_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> driver_;
  std::unique_ptr<httplib::Client> http_;
  std::string session_id_;
};

// Standard base64 (RFC 4648, with padding; whitespace skipped), as WebDriver sends screenshots.
Result<std::string> decode_base64(std::string_view text);

}  // namespace cairn::testing
