// Codec<T>: how a step's value (and a function's result) becomes bytes in its record and back on
// replay — and how tools can show it. Each codec names its value's format: JSON text (numbers,
// bools, JSON documents), UTF-8 text (strings) or opaque bytes; the format is recorded with the
// value, so `cairn log dump`, `cairn runs show` and the dashboard print it as JSON.
//
// Built in here: std::string (text), integers, floating point and bool (JSON numbers and
// booleans: portable, readable), byte vectors (bytes), and Unit (steps that return nothing).
// Opt in with their own header: cairn/json_codec.h (nlohmann::json), cairn/flatbuffers_codec.h
// (FlatBuffers tables). Add your own by specializing:
//
//   template <> struct cairn::Codec<Money> {
//     static constexpr ValueFormat format = ValueFormat::kJson;  // optional; default kBytes
//                                      // (register_function refuses a value outside the enum)
//     static void encode(const Money& m, std::string& out) { ... }
//     static Money decode(std::string_view bytes) { ... }   // throw on bad bytes
//   };
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace cairn {

// How a recorded value's bytes are to be read by tools. Recorded with every step output and run
// result; never changes what the function gets back (that is Codec<T>::decode).
enum class ValueFormat : uint8_t {
  kBytes = 0,  // opaque: shown as an array of byte values
  kJson = 1,   // a JSON document (number, bool, null, string, array or object)
  kText = 2,   // UTF-8 text: shown as a JSON string
};

// Whether `recorded`, a format as a log or snapshot holds it, is one this version knows. A newer
// version may record others.
constexpr bool is_known_value_format(uint8_t recorded) {
  return recorded <= static_cast<uint8_t>(ValueFormat::kText);
}
// The format to read a recorded value as: its own when known, else kBytes (shown, never lost).
constexpr ValueFormat recorded_value_format(uint8_t recorded) {
  return is_known_value_format(recorded) ? static_cast<ValueFormat>(recorded) : ValueFormat::kBytes;
}

// The value of a step whose body returns void.
struct Unit {
  bool operator==(const Unit&) const = default;
};

template <typename T, typename Enable = void>
struct Codec;  // no codec for this type: specialize cairn::Codec<T>

// The format a codec declares, kBytes when it declares none.
template <typename T>
constexpr ValueFormat value_format() {
  if constexpr (requires { Codec<T>::format; }) {
    return Codec<T>::format;
  } else {
    return ValueFormat::kBytes;
  }
}

template <>
struct Codec<std::string> {
  static constexpr ValueFormat format = ValueFormat::kText;
  static void encode(const std::string& v, std::string& out) { out.assign(v); }
  static std::string decode(std::string_view b) { return std::string(b); }
};

// Nothing, recorded as no bytes (tools show it as null).
template <>
struct Codec<Unit> {
  static constexpr ValueFormat format = ValueFormat::kJson;
  static void encode(const Unit&, std::string& out) { out.clear(); }
  static Unit decode(std::string_view) { return {}; }
};

template <>
struct Codec<bool> {
  static constexpr ValueFormat format = ValueFormat::kJson;
  static void encode(bool v, std::string& out) { out.assign(v ? "true" : "false"); }
  static bool decode(std::string_view b) {
    if (b == "true") return true;
    if (b == "false") return false;
    throw std::runtime_error("recorded value is not a JSON boolean");
  }
};

// Integers as decimal JSON numbers; floating point as the shortest text that reads back to the
// same value (JSON has no NaN or infinity: those are the strings "NaN", "Infinity", "-Infinity").
template <typename T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr ValueFormat format = ValueFormat::kJson;
  static void encode(const T& v, std::string& out) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(v)) return out.assign("\"NaN\""), void();
      if (std::isinf(v)) return out.assign(v > 0 ? "\"Infinity\"" : "\"-Infinity\""), void();
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    // clear + append, not assign: GCC 12 at -O3 warns (-Wrestrict) on the inlined assign.
    out.clear();
    out.append(buf, static_cast<size_t>(r.ptr - buf));
  }
  static T decode(std::string_view b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (b == "\"NaN\"") return std::numeric_limits<T>::quiet_NaN();
      if (b == "\"Infinity\"") return std::numeric_limits<T>::infinity();
      if (b == "\"-Infinity\"") return -std::numeric_limits<T>::infinity();
    }
    T v{};
    const auto r = std::from_chars(b.data(), b.data() + b.size(), v);
    if (r.ec != std::errc() || r.ptr != b.data() + b.size()) {
      throw std::runtime_error("recorded value is not a number of this type: " +
                               std::string(b.substr(0, 40)));
    }
    return v;
  }
};

template <typename Byte>
struct Codec<std::vector<Byte>, std::enable_if_t<sizeof(Byte) == 1 && std::is_trivial_v<Byte>>> {
  static constexpr ValueFormat format = ValueFormat::kBytes;
  static void encode(const std::vector<Byte>& v, std::string& out) {
    out.assign(reinterpret_cast<const char*>(v.data()), v.size());
  }
  static std::vector<Byte> decode(std::string_view b) {
    std::vector<Byte> v(b.size());
    if (!b.empty()) std::memcpy(v.data(), b.data(), b.size());
    return v;
  }
};

}  // namespace cairn
