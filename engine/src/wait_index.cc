// WaitIndex (see wait_index.h).
#include "wait_index.h"

#include <algorithm>

#include "json_field.h"

namespace cairn::detail {

void WaitIndex::add(const std::string& event_name, const std::string& path,
                    const std::string& value, Waiter w) {
  by_name_[event_name][path][path.empty() ? std::string() : value].push_back(w);
  ++size_;
}

void WaitIndex::remove(const std::string& event_name, const std::string& path,
                       const std::string& value, Waiter w) {
  auto n = by_name_.find(event_name);
  if (n == by_name_.end()) return;
  auto p = n->second.find(path);
  if (p == n->second.end()) return;
  auto v = p->second.find(path.empty() ? std::string() : value);
  if (v == p->second.end()) return;
  auto& list = v->second;
  auto it = std::find(list.begin(), list.end(), w);
  if (it == list.end()) return;
  list.erase(it);
  --size_;
  if (list.empty()) p->second.erase(v);
  if (p->second.empty()) n->second.erase(p);
  if (n->second.empty()) by_name_.erase(n);
}

void WaitIndex::take_matches(std::string_view event_name, std::string_view data,
                             std::vector<Waiter>* out) {
  auto n = by_name_.find(std::string(event_name));
  if (n == by_name_.end()) return;
  for (auto p = n->second.begin(); p != n->second.end();) {
    const std::string& path = p->first;
    std::string key;
    if (!path.empty()) {
      std::optional<std::string> v = json_field(data, path);
      if (!v) {
        ++p;
        continue;
      }
      key = std::move(*v);
    }
    auto v = p->second.find(key);
    if (v != p->second.end()) {
      size_ -= v->second.size();
      out->insert(out->end(), v->second.begin(), v->second.end());
      p->second.erase(v);
    }
    p = p->second.empty() ? n->second.erase(p) : std::next(p);
  }
  if (n->second.empty()) by_name_.erase(n);
}

bool WaitIndex::has_waiters_for(std::string_view event_name) const {
  return by_name_.contains(std::string(event_name));
}

}  // namespace cairn::detail
