// Who may talk to the dashboard: which bind addresses are this machine only (loopback), and
// whether a request carries the token (Authorization: Bearer T, or ?token=T).
#pragma once

#include <string>
#include <string_view>

#include "cairn/dashboard.h"
#include "cairn/log/status.h"

namespace httplib {
struct Request;
}

namespace cairn::web {

// 127.0.0.0/8, ::1 and "localhost": only processes on this machine can connect.
bool is_loopback_address(std::string_view bind);

// The options start() accepts: a token for any non-loopback bind, at least one thread, limits
// above zero, a run detail's budget with room for its values. kInvalidArgument says which rule was
// broken.
Status check_dashboard_options(const DashboardOptions& options);

// Whether `request` carries `token` (compared in constant time: the time taken tells nothing of
// how much of a guess was right).
bool request_has_token(const httplib::Request& request, std::string_view token);

// The address a browser on this machine uses for `bind`: 127.0.0.1 for the wildcard
// addresses, brackets around an IPv6 address.
std::string url_host(std::string_view bind);

}  // namespace cairn::web

namespace cairn::web {

// Refuses what a web page on another site could make this user's browser send (its reason, or
// empty when the request may go on): on a loopback bind, a Host header that is not a loopback
// name (DNS rebinding: evil.example resolving to 127.0.0.1), and for any write (POST) an Origin
// header that is not this dashboard's own (a cross-site form or fetch).
std::string cross_site_refusal(const httplib::Request& request, bool loopback_bind);

}  // namespace cairn::web
