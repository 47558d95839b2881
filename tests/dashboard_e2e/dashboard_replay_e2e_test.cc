// The dashboard end to end, in headless Chromium: a real engine with a run that failed at its
// second step, the Dashboard serving it, and a browser that finds the failed run in the list,
// opens its timeline, clicks Replay once the dependency is back and sees the new run complete.
// The page is found through the hooks the dashboard promises (element ids and data- attributes,
// docs/dashboard.md); a missing hook fails the test naming its selector. Screenshots of the page
// are saved in the build tree (CAIRN_DASHBOARD_SCREENSHOT_DIR). A second test opens a run whose
// detail the API cut to its byte budget and checks that the page says so.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "cairn/dashboard.h"
#include "cairn/engine.h"
#include "support/temp_dir.h"
#include "support/test_engine_options.h"
#include "support/webdriver_session.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

// How long the page may take to show what the test waits for. Generous: a loaded 2-core machine
// starts Chromium slowly; the test polls, so a fast machine does not wait for it.
constexpr auto kPageTimeout = 90s;

// True when CAIRN_NO_BROWSER=1: the test is skipped instead of failing for a missing Chromium.
bool browser_opted_out() {
  const char* v = std::getenv("CAIRN_NO_BROWSER");
  return v != nullptr && std::string(v) == "1";
}

// Polls `probe` until it returns a value, or an error other than a page still rendering (the
// page re-renders its list every second, so an element found a moment ago may be gone, and a
// button may not be shown yet). The last such error goes into the timeout's message.
template <typename T>
Result<T> poll_page(const std::string& what,
                    const std::function<Result<std::optional<T>>()>& probe) {
  const auto deadline = std::chrono::steady_clock::now() + kPageTimeout;
  std::string last_error;
  for (;;) {
    Result<std::optional<T>> r = probe();
    if (!r.ok() && !WebDriverSession::is_transient_element_error(r.status())) return r.status();
    if (r.ok() && r->has_value()) return std::move(**r);
    if (!r.ok()) last_error = r.status().message();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kTimeout,
                    "the page did not show " + what + " within " +
                        std::to_string(std::chrono::seconds(kPageTimeout).count()) + " s" +
                        (last_error.empty() ? "" : " (last: " + last_error + ")"));
    }
    std::this_thread::sleep_for(100ms);
  }
}

// The first element matching `css`, once the page has one.
Result<WebElement> wait_for_element(WebDriverSession& browser, const std::string& css) {
  return poll_page<WebElement>("an element matching `" + css + "` (a dashboard page hook)",
                               [&] { return browser.find(css); });
}

// Clicks the element matching `css`, finding it again if the page replaced it meanwhile.
Status click_element(WebDriverSession& browser, const std::string& css) {
  Result<bool> clicked = poll_page<bool>(
      "a clickable `" + css + "` (a dashboard page hook)", [&]() -> Result<std::optional<bool>> {
        CAIRN_ASSIGN_OR_RETURN(std::optional<WebElement> e, browser.find(css));
        if (!e) return std::optional<bool>();
        CAIRN_RETURN_IF_ERROR(browser.click(*e));
        return std::optional<bool>(true);
      });
  return clicked.status();
}

// How many elements match `css`, once at least one does.
Result<size_t> count_when_present(WebDriverSession& browser, const std::string& css) {
  return poll_page<size_t>("an element matching `" + css + "` (a dashboard page hook)",
                           [&]() -> Result<std::optional<size_t>> {
                             CAIRN_ASSIGN_OR_RETURN(const std::vector<WebElement> all,
                                                    browser.find_all(css));
                             if (all.empty()) return std::optional<size_t>();
                             return std::optional<size_t>(all.size());
                           });
}

// The engine and its one function, "charge": step "reserve" succeeds, step "charge" throws
// while `payment_down` is set (one retry, 10 ms apart), and the run returns "paid".
struct ChargeEngine {
  std::atomic<bool> payment_down{true};
  std::unique_ptr<Engine> engine;

  Status start(const std::filesystem::path& dir) {
    engine = Engine::create(test_engine_options(dir, nullptr));
    CAIRN_RETURN_IF_ERROR(engine->register_function(
        {.id = "charge",
         .triggers = {on_event("order/created")},
         .retries = 1,
         .backoff_base = 10ms,
         .backoff_max = 10ms},
        [this](Context& ctx, const Event&) -> Task<std::string> {
          co_await ctx.run("reserve", [] { return std::string("reserved"); });
          co_await ctx.run("charge", [this] {
            if (payment_down.load()) throw std::runtime_error("payment API down");
            return std::string("charged");
          });
          co_return std::string("paid");
        }));
    return engine->start();
  }
};

// Skips the test (CAIRN_NO_BROWSER=1) or fails it when Chromium is missing.
#define CAIRN_REQUIRE_BROWSER()                                                                   \
  if (::access("/usr/bin/chromium", X_OK) != 0 || ::access("/usr/bin/chromedriver", X_OK) != 0) { \
    if (browser_opted_out()) {                                                                    \
      GTEST_SKIP() << "CAIRN_NO_BROWSER=1 and Chromium is not installed";                         \
    }                                                                                             \
    FAIL() << "this test drives headless Chromium: /usr/bin/chromium and /usr/bin/chromedriver "  \
              "are missing. Install them with `./tools/scripts/install-deps.sh --browser` (the "  \
              "Debian packages chromium and chromium-driver; tools/scripts/test.sh does it), or " \
              "set CAIRN_NO_BROWSER=1 to skip this test.";                                        \
  }

TEST(DashboardEndToEnd, AFailedRunIsReplayedFromThePageAndCompletes) {
  CAIRN_REQUIRE_BROWSER();
  TempDir dir;
  ChargeEngine app;
  ASSERT_TRUE(app.start(dir / "engine").ok());
  Result<SendResult> sent = app.engine->send({.name = "order/created", .data = R"({"order":7})"});
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  ASSERT_EQ(sent->runs.size(), 1u);
  const RunId failed = sent->runs[0];
  Result<RunInfo> ended = app.engine->wait_run(failed, 60s);
  ASSERT_TRUE(ended.ok()) << ended.status().to_string();
  ASSERT_EQ(ended->status, RunStatus::kFailed) << ended->error;

  Result<std::unique_ptr<Dashboard>> dashboard = Dashboard::start(*app.engine, {});
  ASSERT_TRUE(dashboard.ok()) << dashboard.status().to_string();
  Result<std::unique_ptr<WebDriverSession>> started =
      WebDriverSession::start({.work_dir = dir / "browser"});
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  WebDriverSession& browser = **started;
  const std::filesystem::path shots = CAIRN_DASHBOARD_SCREENSHOT_DIR;

  // 1. The list shows the failed run; clicking it opens its timeline.
  ASSERT_TRUE(browser.navigate((*dashboard)->url()).ok());
  const std::string failed_row = "tr.run[data-run-id=\"" + std::to_string(failed) + "\"]";
  Result<WebElement> row = wait_for_element(browser, "tr.run[data-status=\"failed\"]");
  ASSERT_TRUE(row.ok()) << row.status().to_string();
  Result<WebElement> exact = wait_for_element(browser, failed_row + "[data-status=\"failed\"]");
  ASSERT_TRUE(exact.ok()) << exact.status().to_string();
  Status clicked = click_element(browser, failed_row);
  ASSERT_TRUE(clicked.ok()) << clicked.to_string();
  Result<WebElement> detail = wait_for_element(
      browser, "section#run-detail[data-run-id=\"" + std::to_string(failed) + "\"]");
  ASSERT_TRUE(detail.ok()) << detail.status().to_string();
  Result<WebElement> timeline = wait_for_element(browser, "svg#timeline");
  ASSERT_TRUE(timeline.ok()) << timeline.status().to_string();
  // The bars: one per step attempt (reserve once, charge twice), the failed ones marked so.
  Result<size_t> bars = count_when_present(browser, "svg#timeline rect.bar");
  ASSERT_TRUE(bars.ok()) << bars.status().to_string();
  EXPECT_GE(*bars, 3u) << "one bar per step attempt: reserve, and charge twice";
  Result<size_t> failed_bars =
      count_when_present(browser, "svg#timeline rect.bar[data-kind=\"failed\"]");
  ASSERT_TRUE(failed_bars.ok()) << failed_bars.status().to_string();
  EXPECT_EQ(*failed_bars, 2u) << "charge failed twice (one retry)";
  Status shot = browser.screenshot(shots / "failed-run.png");
  EXPECT_TRUE(shot.ok()) << shot.to_string();

  // 2. The dependency is back: Replay from the page; the page names the new run.
  app.payment_down.store(false);
  clicked = click_element(browser, "button[data-action=\"replay\"]");
  ASSERT_TRUE(clicked.ok()) << clicked.to_string();
  Result<std::string> new_run = poll_page<std::string>(
      "`#action-result` with a `data-new-run-id`", [&]() -> Result<std::optional<std::string>> {
        CAIRN_ASSIGN_OR_RETURN(std::optional<WebElement> result, browser.find("#action-result"));
        if (!result) return std::optional<std::string>();
        CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> id,
                               browser.attribute(*result, "data-new-run-id"));
        if (id && id->empty()) return std::optional<std::string>();
        return id;
      });
  ASSERT_TRUE(new_run.ok()) << new_run.status().to_string();
  const RunId replay = std::stoull(*new_run);
  ASSERT_NE(replay, failed);

  // 3. The list shows the new run completed.
  Result<WebElement> done = wait_for_element(
      browser, "tr.run[data-run-id=\"" + *new_run + "\"][data-status=\"completed\"]");
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  shot = browser.screenshot(shots / "after-replay.png");
  EXPECT_TRUE(shot.ok()) << shot.to_string();

  // 4. The engine agrees: the replay completed, the original stays failed.
  Result<RunInfo> r = app.engine->get_run(replay);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, RunStatus::kCompleted) << r->error;
  EXPECT_EQ(r->function_id, "charge");
  Result<RunInfo> original = app.engine->get_run(failed);
  ASSERT_TRUE(original.ok()) << original.status().to_string();
  EXPECT_EQ(original->status, RunStatus::kFailed);

  Status closed = browser.close();
  EXPECT_TRUE(closed.ok()) << closed.to_string();
  (*dashboard)->stop();
  EXPECT_TRUE(app.engine->shutdown().ok());
}

// A run of 30 steps of 20,000 bytes each, served with a 16 KiB budget and 1 KiB values: the page
// marks the cut output and values, and says under the history that entries were left out.
TEST(DashboardEndToEnd, ARunDetailCutToItsBudgetSaysSoOnThePage) {
  CAIRN_REQUIRE_BROWSER();
  TempDir dir;
  std::unique_ptr<Engine> engine = Engine::create(test_engine_options(dir / "engine", nullptr));
  ASSERT_TRUE(engine
                  ->register_function({.id = "big", .triggers = {on_event("big")}},
                                      [](Context& ctx, const Event&) -> Task<std::string> {
                                        for (int i = 0; i < 30; ++i) {
                                          co_await ctx.run("s" + std::to_string(i),
                                                           [] { return std::string(20'000, 'v'); });
                                        }
                                        co_return std::string(20'000, 'o');
                                      })
                  .ok());
  ASSERT_TRUE(engine->start().ok());
  Result<SendResult> sent = engine->send({.name = "big", .data = "{}"});
  ASSERT_TRUE(sent.ok()) << sent.status().to_string();
  Result<RunInfo> ended = engine->wait_run(sent->runs.at(0), 60s);
  ASSERT_TRUE(ended.ok()) << ended.status().to_string();
  ASSERT_EQ(ended->status, RunStatus::kCompleted) << ended->error;

  Result<std::unique_ptr<Dashboard>> dashboard = Dashboard::start(
      *engine, {.run_detail_bytes_max = 16 << 10, .run_detail_value_bytes_max = 1024});
  ASSERT_TRUE(dashboard.ok()) << dashboard.status().to_string();
  Result<std::unique_ptr<WebDriverSession>> started =
      WebDriverSession::start({.work_dir = dir / "browser"});
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  WebDriverSession& browser = **started;

  ASSERT_TRUE(browser.navigate((*dashboard)->url() + "#run=" + std::to_string(ended->id)).ok());
  for (const char* css : {"#detail-output[data-truncated=\"true\"] span.cut",
                          "#history td.value[data-truncated=\"true\"] span.cut",
                          "p#history-truncated[data-truncated-by=\"bytes\"]:not([hidden])"}) {
    Result<WebElement> e = wait_for_element(browser, css);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
  }
  Status shot = browser.screenshot(std::filesystem::path(CAIRN_DASHBOARD_SCREENSHOT_DIR) /
                                   "cut-run-detail.png");
  EXPECT_TRUE(shot.ok()) << shot.to_string();

  Status closed = browser.close();
  EXPECT_TRUE(closed.ok()) << closed.to_string();
  (*dashboard)->stop();
  EXPECT_TRUE(engine->shutdown().ok());
}

}  // namespace
}  // namespace cairn::testing
