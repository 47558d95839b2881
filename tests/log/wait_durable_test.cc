// Log::wait_durable with an LSN no append has reached: refused, not a wait that only later
// appends (if any come) would end.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <limits>

#include "cairn/log/log.h"
#include "support/blob_records.h"
#include "support/temp_dir.h"

namespace cairn::log {
namespace {

using namespace std::chrono_literals;
using testing::kBlobType;
using testing::make_blob;

// wait_durable(0) on an empty log, or with an LSN past every append, used to block until enough
// later appends happened to cover it: with none, until close().
TEST(LogWaitDurable, AnLsnNotAppendedYetIsRefused) {
  testing::TempDir dir;
  auto log = Log::open(dir.path(), {});
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  Log& l = **log;
  auto empty = std::async(std::launch::async, [&] { return l.wait_durable(0); });
  if (empty.wait_for(2s) != std::future_status::ready) {
    ADD_FAILURE() << "wait_durable(0) on an empty log still blocks after 2 s";
    ASSERT_TRUE(l.close().ok());  // wakes it
    EXPECT_EQ(empty.get().code(), StatusCode::kClosed);
    return;
  }
  Status st = empty.get();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find("not appended"), std::string::npos) << st.to_string();

  auto lsn = l.append(kBlobType, make_blob(1, 0, 100));
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  EXPECT_TRUE(l.wait_durable(*lsn).ok());
  st = l.wait_durable(std::numeric_limits<Lsn>::max());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  ASSERT_TRUE(l.close().ok());
}

}  // namespace
}  // namespace cairn::log
