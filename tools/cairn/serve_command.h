// `cairn serve`: the web dashboard over an engine's directory (serve_command.cc).
#pragma once

#include <CLI/CLI.hpp>

#include "command.h"

namespace cairn::tools {

// Adds `serve` to the root app; when selected, it leaves its work in *selected.
void add_serve_command(CLI::App& root, CommandRun* selected);

}  // namespace cairn::tools
