// json_field (see json_field.h), on nlohmann::json.
#include "json_field.h"

#include "cairn/schema/record_schema.h"

#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cairn::detail {
namespace {

// Whether `v` nests arrays and objects deeper than `max` levels, found without recursing.
bool tree_nests_deeper_than(const nlohmann::json& v, size_t max) {
  if (!v.is_structured()) return false;  // most fields: no walk, no allocation
  std::vector<std::pair<const nlohmann::json*, size_t>> todo{{&v, 1}};
  while (!todo.empty()) {
    const auto [j, depth] = todo.back();
    todo.pop_back();
    if (!j->is_structured()) continue;
    if (depth > max) return true;
    for (const nlohmann::json& child : *j) todo.emplace_back(&child, depth + 1);
  }
  return false;
}

}  // namespace

std::optional<std::string> json_field(std::string_view document, std::string_view path) {
  constexpr std::string_view kPrefix = "data.";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  nlohmann::json doc = nlohmann::json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  const nlohmann::json* cur = &doc;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object()) return std::nullopt;
    auto it = cur->find(key);
    if (it == cur->end()) return std::nullopt;
    cur = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  // Dumping recurses once per level: a field nested deeper than send() accepts (data a log
  // recorded before that check may hold, read at every replay by a wait, a cancel_on match or a
  // key) overflowed the stack. Such a field is not one to compare: none, as canonical_json says.
  if (tree_nests_deeper_than(*cur, schema::kJsonDepthMax)) return std::nullopt;
  return cur->dump();
}

namespace {

// A scanner over JSON text that only finds where values begin and end. Every step checks the
// bounds; anything it does not expect makes it give up (nullopt).
class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}
  size_t pos() const { return i_; }
  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool peek(char c) {
    skip_ws();
    return i_ < t_.size() && t_[i_] == c;
  }
  // A string starting at the current position; `raw` is its text between the quotes, `escaped`
  // whether it holds a backslash.
  bool string(std::string_view* raw, bool* escaped) {
    if (!eat('"')) return false;
    const size_t begin = i_;
    *escaped = false;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '"') {
        *raw = t_.substr(begin, i_ - begin);
        ++i_;
        return true;
      }
      if (c == '\\') {
        *escaped = true;
        if (++i_ >= t_.size()) return false;
      }
      ++i_;
    }
    return false;
  }
  // Skips one value (bounded nesting); false when the text is not JSON-shaped.
  bool value(int depth = 0) {
    if (depth > 512) return false;
    skip_ws();
    if (i_ >= t_.size()) return false;
    const char c = t_[i_];
    if (c == '"') {
      std::string_view s;
      bool e;
      return string(&s, &e);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close)) return true;
      for (;;) {
        if (c == '{') {
          std::string_view k;
          bool e;
          if (!string(&k, &e) || !eat(':')) return false;
        }
        if (!value(depth + 1)) return false;
        if (eat(close)) return true;
        if (!eat(',')) return false;
      }
    }
    const size_t begin = i_;
    while (i_ < t_.size()) {
      const char d = t_[i_];
      if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\t' || d == '\n' || d == '\r')
        break;
      ++i_;
    }
    return i_ > begin;
  }
  std::string_view slice(size_t begin, size_t end) const { return t_.substr(begin, end - begin); }

 private:
  std::string_view t_;
  size_t i_ = 0;
};

// The text of the last member named `name` in the object `object` (nullopt: none, or not JSON).
std::optional<std::string_view> member(std::string_view object, std::string_view name) {
  Scanner s(object);
  if (!s.eat('{')) return std::nullopt;
  std::optional<std::string_view> found;
  if (s.eat('}')) return found;
  for (;;) {
    std::string_view key;
    bool escaped;
    if (!s.string(&key, &escaped) || !s.eat(':')) return std::nullopt;
    // A name written with escapes is compared the slow way (json_field) by the caller.
    if (escaped) return std::nullopt;
    s.skip_ws();
    const size_t begin = s.pos();
    if (!s.value()) return std::nullopt;
    if (key == name) found = s.slice(begin, s.pos());
    if (s.eat('}')) return found;
    if (!s.eat(',')) return std::nullopt;
  }
}

}  // namespace

std::optional<std::string_view> json_field_text(std::string_view document, std::string_view path) {
  constexpr std::string_view kPrefix = "data.";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  std::string_view cur = document;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    std::optional<std::string_view> v = member(cur, path.substr(0, dot));
    if (!v) return std::nullopt;
    cur = *v;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

std::optional<std::string> canonical_json(std::string_view text) {
  // Not dumped (once per level of recursion) when nested deeper than send() accepts: the same
  // answer as json_field gives for such a field, so the key scanner and the tree agree.
  if (schema::json_nests_deeper_than(text, schema::kJsonDepthMax)) return std::nullopt;
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return v.dump();
}

bool is_json_object(std::string_view text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  return !v.is_discarded() && v.is_object();
}

std::optional<std::string> event_data_problem(std::string_view text) {
  if (schema::json_nests_deeper_than(text, schema::kJsonDepthMax)) {
    return "data nests arrays and objects deeper than " + std::to_string(schema::kJsonDepthMax) +
           " levels";
  }
  if (!is_json_object(text)) return "data must be a JSON object";
  return std::nullopt;
}

}  // namespace cairn::detail
