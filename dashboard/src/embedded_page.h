// The dashboard's page (dashboard/assets/, its CSS and script inlined), compiled into the library
// by embed_page.cmake: the only document the dashboard serves besides its JSON.
#pragma once

#include <string_view>

namespace cairn::web {

std::string_view embedded_page();

}  // namespace cairn::web
