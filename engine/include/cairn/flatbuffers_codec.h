// FlatBuffer<T> and its Codec: a FlatBuffers table as a step value, recorded as the buffer's bytes
// (verified when read back). Include it where a function uses FlatBuffers values; cairn/engine.h
// does not pull FlatBuffers into code that does not.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/codec.h"

namespace cairn {

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

template <typename T>
struct Codec<FlatBuffer<T>> {
  static constexpr ValueFormat format = ValueFormat::kBytes;
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
