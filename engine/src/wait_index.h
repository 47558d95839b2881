// WaitIndex: the runs waiting for an event, indexed by event name, match path and the value that
// path must have, so an arriving event finds its waiters with a few lookups instead of a scan
// over every waiting run. Used by apply only (one thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cairn/engine.h"

namespace cairn::detail {

struct Waiter {
  RunId run = 0;
  uint32_t position = 0;
  bool operator==(const Waiter&) const = default;
};

class WaitIndex {
 public:
  // `path` empty: any event with this name matches (value is ignored).
  void add(const std::string& event_name, const std::string& path, const std::string& value,
           Waiter w);
  void remove(const std::string& event_name, const std::string& path, const std::string& value,
              Waiter w);
  // Removes and returns (appends to `out`) every waiter the event satisfies.
  void take_matches(std::string_view event_name, std::string_view data, std::vector<Waiter>* out);
  bool has_waiters_for(std::string_view event_name) const;
  size_t size() const { return size_; }

 private:
  using ByValue = std::unordered_map<std::string, std::vector<Waiter>>;
  using ByPath = std::unordered_map<std::string, ByValue>;
  std::unordered_map<std::string, ByPath> by_name_;
  size_t size_ = 0;
};

}  // namespace cairn::detail
