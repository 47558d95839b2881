// A ctx.send_event deferred for want of room (runs_active_max), SIGKILLed again and again while it
// waits and is tried again, at seeded points of its progress (1 to 4 more tries each time, however
// slow the machine), then let through: the event is sent exactly once and its run created once,
// each try is recorded at most once with its attempt number one more than the last durable one,
// the run completes once, and after every kill the log has at most a torn tail.
// deferred_send_child.cc is the process killed.
#include <gtest/gtest.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cairn/engine.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "cairn/schema/record_schema.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace cairn::engine_crash::deferred_send {
namespace {

using namespace std::chrono_literals;
using schema::RecordType;
using testing::ChildPipe;
using testing::ChildProcess;
using testing::Followed;
using testing::Poll;

constexpr int kKills = 6;
constexpr auto kStallTimeout = 60s;  // silence, not slowness, is a hang

uint64_t seed_from_env() {
  const char* s = std::getenv("CAIRN_ENGINE_CRASH_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 10) : 2026;
}

// The count in the last whole "deferred N" line of `bytes` (the rest is dropped), or `count`.
uint64_t last_count(std::vector<char>& bytes, uint64_t count) {
  const std::string text(bytes.begin(), bytes.end());
  const size_t end = text.rfind('\n');
  if (end == std::string::npos) return count;
  const size_t begin = text.rfind("deferred ", end);
  if (begin != std::string::npos) {
    std::from_chars(text.data() + begin + 9, text.data() + end, count);
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(end + 1));
  return count;
}

// What the log says of the parent run's send.
struct SendFacts {
  RunId parent = 0;
  int events_sent = 0;                      // EventAccepted with the parent as origin
  int child_runs = 0;                       // runs of "child" any event started
  int parent_completed = 0;                 // RunCompleted of the parent
  std::vector<uint32_t> deferred_attempts;  // StepFailed NoRoom of the parent, in log order
  bool final_refusal = false;               // one of them with no retry
};

SendFacts read_facts(const std::filesystem::path& log_dir) {
  SendFacts f;
  auto reader = log::LogReader::open(log_dir, {.payload_verifier = &schema::verify_payload});
  EXPECT_TRUE(reader.ok()) << reader.status().to_string();
  if (!reader.ok()) return f;
  std::map<RunId, std::string> functions;
  for (;;) {
    Result<const log::ReadRecord*> r = (*reader)->next();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok() || *r == nullptr) break;
    const void* p = (*r)->payload.data();
    switch (static_cast<RecordType>((*r)->type)) {
      case RecordType::EventAccepted: {
        const auto& e = *flatbuffers::GetRoot<schema::EventAccepted>(p);
        if (e.functions() != nullptr) {
          RunId id = e.first_run_id();
          for (const flatbuffers::String* fn : *e.functions()) {
            functions[id++] = fn->str();
            if (fn->str() == "parent") f.parent = id - 1;
            if (fn->str() == "child") ++f.child_runs;
          }
        }
        if (e.origin() != nullptr && e.origin()->run_id() == f.parent) ++f.events_sent;
        break;
      }
      case RecordType::StepFailed: {
        const auto& s = *flatbuffers::GetRoot<schema::StepFailed>(p);
        if (s.step() == nullptr || s.step()->run_id() != f.parent) break;
        EXPECT_EQ(s.kind(), schema::FailureKind::NoRoom);
        f.deferred_attempts.push_back(s.attempt());
        f.final_refusal |= s.retry_at_ms() == 0;
        break;
      }
      case RecordType::RunCompleted:
        if (flatbuffers::GetRoot<schema::RunCompleted>(p)->run_id() == f.parent) {
          ++f.parent_completed;
        }
        break;
      default:
        break;
    }
  }
  return f;
}

// deferred_send_child on the engine in `root`/engine in `mode` ("hold" or "release"), reporting on
// `pipe`, its output appended to `root`/child.out. Check started() after.
std::unique_ptr<ChildProcess> spawn(const std::filesystem::path& root, ChildPipe& pipe,
                                    const std::string& mode) {
  auto child = std::make_unique<ChildProcess>(
      std::vector<std::string>{CAIRN_DEFERRED_SEND_CHILD_PATH, (root / "engine").string(),
                               std::to_string(pipe.write_fd()), mode},
      testing::ChildOptions{.output = root / "child.out"});
  pipe.close_write_end();
  return child;
}

TEST(DeferredSendCrash, AKilledDeferredSendIsSentOnceWhenThereIsRoom) {
  const uint64_t seed = seed_from_env();
  SCOPED_TRACE("CAIRN_ENGINE_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  const std::filesystem::path output = dir / "child.out";
  uint64_t seen = 0;
  int torn_tails = 0;
  for (int kill = 1; kill <= kKills; ++kill) {
    ChildPipe pipe;
    ASSERT_TRUE(pipe.ok()) << pipe.error();
    const std::unique_ptr<ChildProcess> spawned = spawn(dir.path(), pipe, "hold");
    ChildProcess& child = *spawned;
    ASSERT_TRUE(child.started()) << child.start_error();
    const uint64_t target = seen + 1 + rng() % 4;
    std::vector<char> bytes;
    const Followed followed = testing::follow_progress(
        [&] {
          const size_t before = bytes.size();
          if (!pipe.read(100ms, &bytes)) return Poll::kChildGone;
          return bytes.size() != before ? Poll::kNews : Poll::kQuiet;
        },
        [&] {
          seen = last_count(bytes, seen);
          return seen >= target;
        },
        kStallTimeout);
    ASSERT_EQ(followed, Followed::kReached) << "kill " << kill << ": " << seen << " tries of "
                                            << target << ", child " << child.how() << "\n"
                                            << testing::tail_of_file(output);
    child.kill_and_reap();
    auto report = log::verify_log(dir / "engine" / "log", {});
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    if (report->damage) {
      ++torn_tails;
      EXPECT_EQ(report->damage->kind, log::DamageKind::kTornTail)
          << "after kill " << kill << ": " << report->damage->to_string();
    }
  }
  ChildPipe pipe;
  ASSERT_TRUE(pipe.ok()) << pipe.error();
  const std::unique_ptr<ChildProcess> spawned = spawn(dir.path(), pipe, "release");
  ChildProcess& release = *spawned;
  ASSERT_TRUE(release.started()) << release.start_error();
  ASSERT_TRUE(release.wait_for_exit(180s)) << testing::tail_of_file(output);
  ASSERT_TRUE(release.exited_zero()) << release.how() << "\n" << testing::tail_of_file(output);
  EXPECT_EQ(testing::sanitizer_report(output), "");

  const SendFacts f = read_facts(dir / "engine" / "log");
  ASSERT_NE(f.parent, 0u);
  EXPECT_EQ(f.events_sent, 1) << "sent once, through " << kKills << " kills";
  EXPECT_EQ(f.child_runs, 1);
  EXPECT_EQ(f.parent_completed, 1);
  EXPECT_FALSE(f.final_refusal) << "100 retries are not spent by a few kills";
  // At least the tries the kills waited for; numbered 1, 2, 3 ... (a try whose record was lost
  // in a kill is made again under its number, and recorded once).
  ASSERT_GE(f.deferred_attempts.size(), seen);
  for (size_t i = 0; i < f.deferred_attempts.size(); ++i) {
    EXPECT_EQ(f.deferred_attempts[i], i + 1) << "try " << i;
  }
  std::printf("deferred send: %d kills (%d left a torn tail), %zu tries recorded, sent once\n",
              kKills, torn_tails, f.deferred_attempts.size());
}

}  // namespace
}  // namespace cairn::engine_crash::deferred_send
