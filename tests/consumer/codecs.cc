// The opt-in codec headers from an installed Cairn: cairn/json_codec.h through Cairn::json and
// cairn/flatbuffers_codec.h through Cairn::flatbuffers (find_package(Cairn COMPONENTS json
// flatbuffers)). Round-trips a JSON value through its Codec; prints "json {"total":42}".
#include <cstdio>
#include <string>

#include "cairn/flatbuffers_codec.h"
#include "cairn/json_codec.h"

int main() {
  static_assert(cairn::value_format<nlohmann::json>() == cairn::ValueFormat::kJson);
  std::string bytes;
  cairn::Codec<nlohmann::json>::encode(nlohmann::json{{"total", 42}}, bytes);
  const nlohmann::json back = cairn::Codec<nlohmann::json>::decode(bytes);
  std::printf("json %s\n", back.dump().c_str());
  return back.at("total") == 42 ? 0 : 1;
}
