// FairKeyQueue (see fair_key_queue.h): the per-key ordered sets, the turn list of keys that may
// be served, and the slot counts that decide when a key joins or leaves it.
#include "flow/fair_key_queue.h"

#include <string>
#include <utility>

#include "cairn/log/check.h"

namespace cairn::flow {

Result<FairKeyQueue> FairKeyQueue::create(const FairKeyQueueOptions& o) {
  auto bad = [](const std::string& reason) {
    return Status(StatusCode::kInvalidArgument, "fair key queue: " + reason);
  };
  if (o.queued_max == 0) return bad("queued_max 0 would refuse every run");
  if (o.priority_abs_max < 0 || o.priority_abs_max > 1'000'000) {
    return bad("priority_abs_max " + std::to_string(o.priority_abs_max) +
               " is out of range 0-1000000");
  }
  if (o.aging_ms_per_priority < 1 || o.aging_ms_per_priority > 86'400'000) {
    return bad("aging_ms_per_priority " + std::to_string(o.aging_ms_per_priority) +
               " is out of range 1-86400000");
  }
  return FairKeyQueue(o);
}

bool FairKeyQueue::may_take_turn(const KeyState& k) const {
  return !k.entries.empty() &&
         (options_.per_key_running_max == 0 || k.running < options_.per_key_running_max);
}

void FairKeyQueue::join_turns(KeyState* k) {
  CAIRN_DCHECK(!k->in_turn && may_take_turn(*k));
  k->prev = turn_tail_;
  k->next = nullptr;
  if (turn_tail_ != nullptr) {
    turn_tail_->next = k;
  } else {
    turn_head_ = k;
  }
  turn_tail_ = k;
  k->in_turn = true;
  ++turn_count_;
}

void FairKeyQueue::leave_turns(KeyState* k) {
  CAIRN_DCHECK(k->in_turn);
  (k->prev != nullptr ? k->prev->next : turn_head_) = k->next;
  (k->next != nullptr ? k->next->prev : turn_tail_) = k->prev;
  k->prev = k->next = nullptr;
  k->in_turn = false;
  --turn_count_;
}

void FairKeyQueue::erase_if_unused(KeyState* k) {
  if (!k->entries.empty() || k->running > 0) return;
  CAIRN_CHECK(!k->in_turn);
  auto it = keys_.find(*k->name);
  CAIRN_CHECK(it != keys_.end() && &it->second == k);
  keys_.erase(it);
}

Status FairKeyQueue::push(std::string_view key, uint64_t handle, int32_t priority, int64_t now_ms) {
  if (priority < -options_.priority_abs_max || priority > options_.priority_abs_max) {
    return Status(StatusCode::kInvalidArgument,
                  "fair key queue: priority " + std::to_string(priority) + " is out of range " +
                      std::to_string(-options_.priority_abs_max) + "-" +
                      std::to_string(options_.priority_abs_max));
  }
  if (handles_.size() >= options_.queued_max) {
    return Status(StatusCode::kLimitExceeded, "fair key queue: " + std::to_string(handles_.size()) +
                                                  " runs queued, queued_max reached");
  }
  if (handles_.contains(handle)) {
    return Status(StatusCode::kAlreadyExists,
                  "fair key queue: run " + std::to_string(handle) + " is already queued");
  }
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    it = keys_.emplace(std::string(key), KeyState{}).first;
    it->second.name = &it->first;
  }
  KeyState* k = &it->second;
  const Entry e{now_ms - int64_t{priority} * options_.aging_ms_per_priority, next_seq_++, handle,
                now_ms, priority};
  const auto [pos, inserted] = k->entries.insert(e);
  CAIRN_CHECK(inserted);  // seq is unique
  handles_.emplace(handle, Location{k, pos});
  if (!k->in_turn && may_take_turn(*k)) join_turns(k);
  return Status::Ok();
}

std::optional<QueuedRun> FairKeyQueue::pop() {
  if (options_.running_max != 0 && running_ >= options_.running_max) return std::nullopt;
  KeyState* k = turn_head_;
  if (k == nullptr) return std::nullopt;
  CAIRN_DCHECK(may_take_turn(*k));
  const Entry e = *k->entries.begin();
  k->entries.erase(k->entries.begin());
  const bool erased = handles_.erase(e.handle) == 1;
  CAIRN_CHECK(erased);
  ++k->running;
  ++running_;
  leave_turns(k);
  if (may_take_turn(*k)) join_turns(k);  // to the back: every other key goes first
  return QueuedRun{e.handle, *k->name, e.priority, e.enqueued_ms};
}

bool FairKeyQueue::try_take(std::string_view key) {
  // Only when nobody waits that this run would pass: no key waits for its turn (so no run waits
  // for a function-wide slot) and this key has nothing queued.
  if (turn_count_ != 0) return false;
  if (options_.running_max != 0 && running_ >= options_.running_max) return false;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    it = keys_.emplace(std::string(key), KeyState{}).first;
    it->second.name = &it->first;
  }
  KeyState* k = &it->second;
  if (!k->entries.empty() ||
      (options_.per_key_running_max != 0 && k->running >= options_.per_key_running_max)) {
    erase_if_unused(k);
    return false;
  }
  ++k->running;
  ++running_;
  return true;
}

void FairKeyQueue::release(std::string_view key) {
  auto it = keys_.find(key);
  CAIRN_CHECK_MSG(it != keys_.end() && it->second.running > 0,
                  "fair key queue: release() for a key that holds no slot");
  KeyState* k = &it->second;
  --k->running;
  CAIRN_CHECK(running_ > 0);
  --running_;
  if (!k->in_turn && may_take_turn(*k)) join_turns(k);
  erase_if_unused(k);
}

bool FairKeyQueue::remove(uint64_t handle) {
  auto it = handles_.find(handle);
  if (it == handles_.end()) return false;
  const Location loc = it->second;
  handles_.erase(it);
  loc.key->entries.erase(loc.entry);
  if (loc.key->in_turn && loc.key->entries.empty()) leave_turns(loc.key);
  erase_if_unused(loc.key);
  return true;
}

}  // namespace cairn::flow
