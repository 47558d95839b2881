// Views of FlatBuffers strings and byte vectors (null: empty), for the engine's readers of
// records and snapshots.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <string_view>

namespace cairn::detail {

inline std::string_view fb_view(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

inline std::string_view fb_view(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

}  // namespace cairn::detail
