// Fuzz target for the engine's options file (engine/src/options_file.h), which the cairn tool
// reads from an engine's directory: any bytes go to the decoder. Refused text must come with a
// message and leave the options as they were; accepted text must give options that the encoder
// writes, and the decoder reads back, unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "options_file.h"

namespace {

void require(bool promise) {
  if (!promise) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cairn::EngineOptions o;
  const std::string before = cairn::encode_options_file(o);
  cairn::Result<cairn::OptionsFileRead> r = cairn::decode_options_file(text, &o);
  if (!r.ok()) {
    require(!r.status().message().empty());
    require(cairn::encode_options_file(o) == before);
    return 0;
  }
  for (const std::string& s : r->skipped) {
    for (char c : s) require(c >= 0x20 && c < 0x7f);
  }
  const std::string encoded = cairn::encode_options_file(o);
  cairn::EngineOptions again;
  cairn::Result<cairn::OptionsFileRead> back = cairn::decode_options_file(encoded, &again);
  require(back.ok() && back->skipped.empty());
  require(cairn::encode_options_file(again) == encoded);
  return 0;
}
