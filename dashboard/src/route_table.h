// The dashboard's routes, registered on the httplib::Server through one table that also knows
// which methods each path takes: a request whose method a known path does not take is answered
// 405 with `Allow` (RFC 9110, 15.5.6) rather than httplib's 404 (or its 400, for a method it
// does not know at all), and only an unknown path is 404.
#pragma once

#include <httplib.h>

#include <regex>
#include <string>
#include <vector>

namespace cairn::web {

class RouteTable {
 public:
  explicit RouteTable(httplib::Server& server) : server_(server) {}

  // As httplib::Server::Get and Post: `pattern` is a regular expression the whole path matches.
  // A GET route answers HEAD too (httplib does).
  void get(const std::string& pattern, httplib::Server::Handler handler);
  void post(const std::string& pattern, httplib::Server::Handler handler);

  // The methods `path` takes ("GET, HEAD", "POST"), for an Allow header; empty when no route
  // matches it.
  std::string allowed_methods(const std::string& path) const;

 private:
  struct Route {
    std::regex pattern;
    std::string methods;
  };
  httplib::Server& server_;
  std::vector<Route> routes_;
};

// A request line httplib refused (400) only for its method: a method token it does not know
// ("BREW"), with a target and an HTTP/1.x version. httplib then reads neither its path nor its
// headers: the path is cut from the target here (without its query). Empty for any other request.
std::string path_of_unknown_method(const httplib::Request& request);

}  // namespace cairn::web
