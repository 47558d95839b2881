// Access rules (see access_policy.h).
#include "access_policy.h"

#include <arpa/inet.h>

#include <httplib.h>

namespace cairn::web {
namespace {

// Smallest run_detail_value_bytes_max: a cut value keeps a note of its size (about 40 bytes) and
// should keep some of its text too.
constexpr size_t kDetailValueBytesMin = 256;

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  // The length is not secret (a token's length says little); the contents are.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace

bool is_loopback_address(std::string_view bind) {
  if (bind == "localhost") return true;
  const std::string text(bind);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;  // a host name or an interface's address: reachable from elsewhere
}

Status check_dashboard_options(const DashboardOptions& o) {
  if (o.bind.empty()) return Status(StatusCode::kInvalidArgument, "bind address is empty");
  if (!is_loopback_address(o.bind) && o.token.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "the dashboard binds to " + o.bind +
                      ", which other machines can reach: set a token (every request must then "
                      "carry it), or bind to 127.0.0.1");
  }
  if (o.threads == 0) return Status(StatusCode::kInvalidArgument, "threads must be at least 1");
  if (o.connections_max < o.threads) {
    return Status(StatusCode::kInvalidArgument,
                  "connections_max must be at least threads (" + std::to_string(o.threads) + ")");
  }
  if (o.page_limit_max == 0 || o.request_bytes_max == 0) {
    return Status(StatusCode::kInvalidArgument,
                  "page_limit_max and request_bytes_max must be above 0");
  }
  if (o.run_detail_value_bytes_max < kDetailValueBytesMin ||
      o.run_detail_bytes_max / 4 < o.run_detail_value_bytes_max) {
    return Status(StatusCode::kInvalidArgument,
                  "run_detail_value_bytes_max must be at least " +
                      std::to_string(kDetailValueBytesMin) +
                      " and run_detail_bytes_max at least 4 times it (the run's own values and "
                      "some history must fit)");
  }
  if (o.throughput_window.count() <= 0) {
    return Status(StatusCode::kInvalidArgument, "throughput_window must be at least 1 s");
  }
  return Status();
}

bool request_has_token(const httplib::Request& request, std::string_view token) {
  constexpr std::string_view kBearer = "Bearer ";
  const std::string header = request.get_header_value("Authorization");
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0 &&
      equal_in_constant_time(std::string_view(header).substr(kBearer.size()), token)) {
    return true;
  }
  return request.has_param("token") &&
         equal_in_constant_time(request.get_param_value("token"), token);
}

std::string url_host(std::string_view bind) {
  if (bind == "0.0.0.0" || bind == "::" || bind == "localhost") return "127.0.0.1";
  if (bind.find(':') != std::string_view::npos) return std::string("[").append(bind).append("]");
  return std::string(bind);
}

}  // namespace cairn::web

namespace cairn::web {
namespace {

// "127.0.0.1:8080" -> "127.0.0.1", "[::1]:8080" -> "::1", "localhost" -> "localhost".
std::string_view host_name_of(std::string_view host) {
  if (host.starts_with('[')) {
    const size_t close = host.find(']');
    return close == host.npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.rfind(':');
  return colon == host.npos ? host : host.substr(0, colon);
}

}  // namespace

std::string cross_site_refusal(const httplib::Request& request, bool loopback_bind) {
  const std::string host = request.get_header_value("Host");
  if (loopback_bind && !host.empty() && !is_loopback_address(host_name_of(host))) {
    return "Host '" + host.substr(0, 80) +
           "' is not this machine: the dashboard answers requests for 127.0.0.1 or localhost";
  }
  if (request.method != "GET" && request.method != "HEAD" && request.has_header("Origin")) {
    const std::string origin = request.get_header_value("Origin");
    // The page's own origin is the Host it was loaded from, over http, or over https when a TLS
    // proxy in front keeps the Host (docs/dashboard.md sends users across machines that way).
    if (origin != "http://" + host && origin != "https://" + host) {
      return "Origin '" + origin.substr(0, 80) +
             "' is not this dashboard: writes come from its own page or from a client that "
             "sends no Origin";
    }
  }
  return {};
}

}  // namespace cairn::web
