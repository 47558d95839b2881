// <engine dir>/admin.json: how `cairn` commands find a live engine's dashboard —
// {"url":"http://127.0.0.1:PORT/","pid":N,"token_required":bool}. Never the token itself.
#pragma once

#include <filesystem>
#include <string>

#include "cairn/log/status.h"

namespace cairn::web {

// The file's name in the engine's directory.
inline constexpr const char* kAdminFileName = "admin.json";

// Writes it atomically (a temporary file, fsync, rename over the old one): a reader sees the
// old file or the new one, never half of one.
Status write_admin_file(const std::filesystem::path& engine_dir, const std::string& url,
                        bool token_required);

// Removes it if it still names this process (a newer engine's file is left alone).
void remove_admin_file(const std::filesystem::path& engine_dir);

}  // namespace cairn::web
