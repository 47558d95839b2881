// The log's basic vocabulary: log sequence numbers and record type numbers.
#pragma once

#include <cstdint>

namespace cairn::log {

// A record's LSN is its position in the log's logical byte stream: the sum of the sizes of every
// frame before it. LSNs therefore increase with every record, are multiples of 8, and tell how
// much log precedes a record. The end of the log is the LSN the next record will get.
using Lsn = uint64_t;
inline constexpr Lsn kNoLsn = ~Lsn{0};

// The record type in a frame's header; schema/records.fbs names them. 0 is never valid.
using RecordType = uint16_t;

}  // namespace cairn::log
