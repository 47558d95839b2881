// Which results a replay from the failed step starts with (see replay_copy.h).
#include "replay_copy.h"

#include <string>

namespace cairn::detail {
namespace {

using Kind = HistoryEntry::Kind;

Status cannot_copy(const HistoryEntry& e, const std::string& why) {
  return Status(StatusCode::kInvalidArgument, "cannot replay from the failed step: at position " +
                                                  std::to_string(e.position) + " (\"" + e.step_id +
                                                  "\") " + why + "; replay it from the start");
}

}  // namespace

Result<std::vector<CopiedOpArgs>> results_before_failure(std::span<const HistoryEntry> history,
                                                         const InvokedRunLookup& lookup,
                                                         std::deque<RunInfo>* invoked) {
  std::vector<CopiedOpArgs> copied;
  // The operation started at the next position and not resolved yet (a sleep or a wait).
  const HistoryEntry* pending = nullptr;
  for (const HistoryEntry& e : history) {
    const uint32_t next = static_cast<uint32_t>(copied.size());
    switch (e.kind) {
      case Kind::kStepCompleted:
        // Later attempts of a step that failed and was caught never reach here: the copy ends
        // at the first position that did not succeed.
        if (e.position == next) copied.push_back({OpKind::kStep, e.step_id, e.value, e.format});
        break;
      case Kind::kStepFailed:
        if (e.position == next && e.deadline == TimePoint{}) return copied;  // no retry: failed
        break;
      case Kind::kSendDeferred:
        // Tried again (its kEventSent comes later, at the same position), or refused for good.
        if (e.position == next && e.deadline == TimePoint{}) return copied;
        break;
      case Kind::kSleepStarted:
      case Kind::kWaitStarted:
        if (e.position == next) pending = &e;
        break;
      case Kind::kResumed:
        // A sleep's timer, or a wait's timeout (the wait returns no event); a retry coming due
        // resolves nothing.
        if (pending != nullptr && e.position == pending->position) {
          const OpKind kind = pending->kind == Kind::kSleepStarted ? OpKind::kSleep : OpKind::kWait;
          copied.push_back({kind, pending->step_id, {}, ValueFormat::kText});
          pending = nullptr;
        }
        break;
      case Kind::kWaitMatched:
        if (pending != nullptr && e.position == pending->position) {
          copied.push_back({OpKind::kWait, pending->step_id, {}, ValueFormat::kText, &e.event});
          pending = nullptr;
        }
        break;
      case Kind::kEventSent:
        // The replay gets the id back and sends nothing: the event was accepted once.
        if (e.position == next) copied.push_back({OpKind::kSend, e.step_id, e.value});
        break;
      case Kind::kInvoked: {
        if (e.position != next) break;
        std::optional<RunInfo> child = lookup(e.run);
        if (!child) {
          return cannot_copy(e, "it invoked run " + std::to_string(e.run) +
                                    ", whose outcome is no longer in memory");
        }
        // A failed or cancelled invoked run ends the copy: the replay invokes again there.
        if (child->status != RunStatus::kCompleted) return copied;
        invoked->push_back(std::move(*child));
        const RunInfo& done = invoked->back();
        copied.push_back(
            {OpKind::kInvoke, e.step_id, done.output, done.output_format, nullptr, done.id});
        break;
      }
      default:
        break;
    }
  }
  return copied;
}

}  // namespace cairn::detail
