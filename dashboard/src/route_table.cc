// The routes and the methods each path takes (see route_table.h).
#include "route_table.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace cairn::web {

void RouteTable::get(const std::string& pattern, httplib::Server::Handler handler) {
  server_.Get(pattern, std::move(handler));
  routes_.push_back({std::regex(pattern), "GET, HEAD"});
}

void RouteTable::post(const std::string& pattern, httplib::Server::Handler handler) {
  server_.Post(pattern, std::move(handler));
  routes_.push_back({std::regex(pattern), "POST"});
}

std::string RouteTable::allowed_methods(const std::string& path) const {
  std::string allowed;
  for (const Route& r : routes_) {
    if (!std::regex_match(path, r.pattern)) continue;
    if (allowed.find(r.methods) != std::string::npos) continue;
    allowed += allowed.empty() ? r.methods : ", " + r.methods;
  }
  return allowed;
}

std::string path_of_unknown_method(const httplib::Request& request) {
  // httplib sets the path only once the method and version passed; a request that got as far
  // as a path was refused for something else (a bad header, a second '?').
  if (!request.path.empty() || request.target.empty() || request.method.empty()) return {};
  if (request.version != "HTTP/1.1" && request.version != "HTTP/1.0") return {};
  // A method is a token (RFC 9110, 5.6.2); anything else is not a request line at all.
  const bool token = std::all_of(request.method.begin(), request.method.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
  if (!token) return {};
  const std::string_view target = request.target;
  return std::string(target.substr(0, target.find_first_of("?#")));
}

}  // namespace cairn::web
