// The log's basic vocabulary: log sequence numbers and record type numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cairn::log {

// A record's LSN is its position in the log's logical byte stream: the sum of the sizes of every
// frame before it. LSNs therefore increase with every record, are multiples of 8, and tell how
// much log precedes a record. The end of the log is the LSN the next record will get.
using Lsn = uint64_t;
inline constexpr Lsn kNoLsn = ~Lsn{0};

// The record type in a frame's header; schema/records.fbs names them. 0 is never valid.
using RecordType = uint16_t;

// Checks a record's payload — untrusted bytes read from disk — before anyone uses it. The log
// knows nothing of what its records mean (it checks frames: length, checksum, LSN chain); the
// records' owner says which types exist and what a valid payload is. The engine installs its
// record tables' FlatBuffers verifier (schema::verify_payload). Returns false for a type it does
// not know or a payload that fails verification: the frame is then bad (an intact frame with bad
// content, which recovery never cuts). Must be thread-safe and must not keep the span.
using PayloadVerifier = bool (*)(RecordType type, std::span<const std::byte> payload);

// Where a record's frame is on disk, as a ReadRecord gives it: a place to start reading instead of
// following every frame of its segment from the segment's start (the engine keeps the position of
// the last record its snapshot covers). A hint only: whoever uses it first checks that an intact
// frame with this LSN is there, and follows the segment from its start when not.
struct FramePosition {
  uint64_t segment_seq = 0;  // 0: no position
  uint64_t offset = 0;
  Lsn lsn = 0;
  bool known() const { return segment_seq != 0; }
};

}  // namespace cairn::log
