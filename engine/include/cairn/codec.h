// Codec<T>: how a step's value becomes bytes in its StepCompleted record and back on replay.
// Built in: std::string, arithmetic types and bool, byte vectors, nlohmann::json, FlatBuffers
// tables (FlatBuffer<T>), and Unit (steps that return nothing). Add your own by specializing:
//
//   template <> struct cairn::Codec<Money> {
//     static void encode(const Money& m, std::string& out) { ... }
//     static Money decode(std::string_view bytes) { ... }   // throw on bad bytes
//   };
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cairn {

// The value of a step whose body returns void.
struct Unit {
  bool operator==(const Unit&) const = default;
};

// A FlatBuffers buffer whose root is table T (e.g. the output of a FlatBufferBuilder).
template <typename T>
class FlatBuffer {
 public:
  FlatBuffer() = default;
  explicit FlatBuffer(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  static FlatBuffer from_builder(const flatbuffers::FlatBufferBuilder& fbb) {
    const uint8_t* p = fbb.GetBufferPointer();
    return FlatBuffer(std::vector<uint8_t>(p, p + fbb.GetSize()));
  }
  const T* get() const { return flatbuffers::GetRoot<T>(bytes_.data()); }
  const T* operator->() const { return get(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

template <typename T, typename Enable = void>
struct Codec;  // no codec for this type: specialize cairn::Codec<T>

template <>
struct Codec<std::string> {
  static void encode(const std::string& v, std::string& out) { out.assign(v); }
  static std::string decode(std::string_view b) { return std::string(b); }
};

template <>
struct Codec<Unit> {
  static void encode(const Unit&, std::string& out) { out.clear(); }
  static Unit decode(std::string_view) { return {}; }
};

template <typename T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static void encode(const T& v, std::string& out) {
    out.resize(sizeof(T));
    std::memcpy(out.data(), &v, sizeof(T));
  }
  static T decode(std::string_view b) {
    if (b.size() != sizeof(T)) throw std::runtime_error("recorded value has the wrong size");
    T v;
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
  }
};

template <typename Byte>
struct Codec<std::vector<Byte>, std::enable_if_t<sizeof(Byte) == 1 && std::is_trivial_v<Byte>>> {
  static void encode(const std::vector<Byte>& v, std::string& out) {
    out.assign(reinterpret_cast<const char*>(v.data()), v.size());
  }
  static std::vector<Byte> decode(std::string_view b) {
    std::vector<Byte> v(b.size());
    std::memcpy(v.data(), b.data(), b.size());
    return v;
  }
};

template <>
struct Codec<nlohmann::json> {
  static void encode(const nlohmann::json& v, std::string& out) { out = v.dump(); }
  static nlohmann::json decode(std::string_view b) { return nlohmann::json::parse(b); }
};

template <typename T>
struct Codec<FlatBuffer<T>> {
  static void encode(const FlatBuffer<T>& v, std::string& out) {
    out.assign(reinterpret_cast<const char*>(v.bytes().data()), v.bytes().size());
  }
  static FlatBuffer<T> decode(std::string_view b) {
    std::vector<uint8_t> bytes(b.begin(), b.end());
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    if (!verifier.VerifyBuffer<T>(nullptr)) {
      throw std::runtime_error("recorded FlatBuffers value fails verification");
    }
    return FlatBuffer<T>(std::move(bytes));
  }
};

}  // namespace cairn
