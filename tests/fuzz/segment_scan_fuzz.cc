// Fuzz target for whole segment files as the log meets them after a crash or a bad copy: the
// scanner (verify_log), LogReader, Log::open in its default mode and the point-in-time repair,
// all on an in-memory disk (SimDisk). Beyond "never crash", it checks what recovery promises:
//  * verify intact => the default open opens; verify corruption or broken sequence => it refuses;
//  * the repair (kPointInTime) always opens, and leaves a log that verifies intact, whose records
//    are exactly those a reader found before the damage (nothing readable is lost, nothing
//    unreadable appears), and whose segment files have the size their headers name, one a log
//    makes.
//
// Input: [flags u8][short u8][data ...]. The file 00000001-…0.wal is a valid header for segment 1
// (first LSN 0) followed by `data`. flags bit 0: the data is padded to whole blocks and the header
// names the file's size; otherwise the file ends where the data ends and the header names
// round_up(data, 4 KiB) + (short % 4) blocks more: a file something cut short. flags bit 1: a
// second segment follows, beginning where a reader finds segment 1's records end (bit 2: 8 bytes
// later, a broken sequence), holding one frame. Then the last file is changed as a bad copy or a
// person might: bit 3, cut to short * 37 bytes (often fewer than a header); bit 4, extended by
// short * 100 + 1 bytes; bit 5, followed by an empty segment of short * 1000 + 100 bytes (a size
// no log makes) beginning where the records end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cairn/log/log.h"
#include "cairn/log/reader.h"
#include "cairn/log/verify.h"
#include "frame_format.h"
#include "support/sim_disk.h"
#include "support/sim_log_options.h"

namespace {

using namespace cairn::log;
using cairn::testing::SimDisk;
using cairn::testing::SimDiskOptions;

constexpr const char* kDir = "/sim/log";

// Traps rather than returns (libFuzzer and the plain driver both keep the input), naming the line.
void require_at(bool promise, int line) {
  if (promise) return;
  std::fprintf(stderr, "segment_scan_fuzz: the promise at line %d does not hold\n", line);
  __builtin_trap();
}
#define require(promise) require_at((promise), __LINE__)

std::string header_block(uint64_t seq, Lsn first_lsn, uint64_t segment_bytes) {
  std::string block(format::kSegmentHeaderSize, '\0');
  format::encode_segment_header(
      format::SegmentHeader{format::kFormatVersion, seq, first_lsn, segment_bytes, 1700000000000},
      reinterpret_cast<std::byte*>(block.data()));
  return block;
}

std::string frame_at(Lsn lsn, std::string_view payload) {
  std::string f(format::frame_size(static_cast<uint32_t>(payload.size())), '\0');
  auto* b = reinterpret_cast<std::byte*>(f.data());
  format::store_u64(b + format::kLengthOffset,
                    format::tag_word(static_cast<uint32_t>(payload.size()), 100, 0));
  format::store_u64(b + format::kLsnOffset, lsn);
  std::memcpy(f.data() + format::kFrameHeaderSize, payload.data(), payload.size());
  format::store_u64(b, format::frame_checksum(b, static_cast<uint32_t>(payload.size())));
  return f;
}

std::string path_of(uint64_t seq, Lsn first_lsn) {
  return std::string(kDir) + "/" + format::segment_file_name(seq, first_lsn);
}

struct Read {
  std::vector<std::pair<Lsn, std::string>> records;
  bool complete = false;  // reached the end without an error
};

Read read_all(SimDisk& disk) {
  Read out;
  ReaderOptions ro;
  ro.file_system = disk.file_system();
  auto reader = LogReader::open(kDir, ro);
  if (!reader.ok()) return out;
  for (int n = 0; n < 100000; ++n) {
    auto r = (*reader)->next();
    if (!r.ok()) return out;
    if (*r == nullptr) {
      out.complete = true;
      return out;
    }
    const auto& p = (*r)->payload;
    out.records.emplace_back((*r)->lsn,
                             std::string(reinterpret_cast<const char*>(p.data()), p.size()));
  }
  return out;
}

LogOptions options_on(SimDisk& disk, RecoveryMode mode) {
  LogOptions o = cairn::testing::sim_log_options(disk);
  o.recovery_mode = mode;
  o.create_if_missing = false;
  return o;
}

// The LSN after the last record a reader finds on `disk`.
Lsn end_of_records(SimDisk& disk) {
  const Read found = read_all(disk);
  if (found.records.empty()) return 0;
  return found.records.back().first +
         format::frame_size(static_cast<uint32_t>(found.records.back().second.size()));
}

// The disk the input describes.
std::shared_ptr<SimDisk> build(const uint8_t* data, size_t size) {
  const uint8_t flags = data[0];
  const uint8_t short_blocks = data[1] % 4;
  std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  const uint64_t block = format::kBlockSize;
  const uint64_t whole = format::round_up(body.size(), block);
  uint64_t claim = block + std::max<uint64_t>(whole, block);
  if (flags & 1) {
    body.resize(claim - block, '\0');
  } else {
    claim += short_blocks * block;
  }
  auto disk = SimDisk::create(SimDiskOptions{.tear_sectors = false});
  require(disk->write_file(path_of(1, 0), header_block(1, 0, claim) + body).ok());
  std::string last = path_of(1, 0);
  if (flags & 2) {
    Lsn end = end_of_records(*disk);
    if (flags & 4) end += 8;
    std::string second = header_block(2, end, 2 * block) + frame_at(end, "second segment");
    second.resize(2 * block, '\0');
    require(disk->write_file(path_of(2, end), second).ok());
    last = path_of(2, end);
  }
  const uint8_t amount = data[1];
  if (flags & (8 | 16)) {
    auto bytes = disk->read_file(last);
    require(bytes.ok());
    if (flags & 8) bytes->resize(std::min<size_t>(bytes->size(), amount * 37u));
    if (flags & 16) bytes->resize(bytes->size() + amount * 100u + 1, '\0');
    require(disk->write_file(last, *bytes).ok());
  }
  if (flags & 32) {
    require(
        disk->write_file(path_of(9, end_of_records(*disk)), std::string(amount * 1000u + 100, '\0'))
            .ok());
  }
  return disk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > (64u << 10)) return 0;

  auto disk = build(data, size);
  VerifyOptions vo;
  vo.file_system = disk->file_system();
  cairn::Result<VerifyReport> report = verify_log(kDir, vo);
  require(report.ok());  // an in-memory disk has no I/O errors: anything else is a scan bug
  const Read before = read_all(*disk);
  // An intact log reads to its end, every record verify counted.
  if (report->intact()) require(before.complete && before.records.size() == report->records);

  {
    auto log = Log::open(kDir, options_on(*disk, RecoveryMode::kTolerateTornTail));
    if (report->intact()) require(log.ok());
    if (report->damage && report->damage->kind == DamageKind::kTornTail) require(log.ok());
    if (report->damage && report->damage->kind != DamageKind::kTornTail) {
      require(!log.ok() && log.status().code() == cairn::StatusCode::kCorruption);
    }
  }

  // The repair, on a disk as the input left it.
  auto again = build(data, size);
  {
    auto log = Log::open(kDir, options_on(*again, RecoveryMode::kPointInTime));
    require(log.ok());
    require((*log)->close().ok());
  }
  vo.file_system = again->file_system();
  cairn::Result<VerifyReport> after = verify_log(kDir, vo);
  const Read repaired = read_all(*again);
  if (std::getenv("SEGMENT_SCAN_FUZZ_VERBOSE") != nullptr) {
    std::fprintf(
        stderr, "verify: %s; read before: %zu records (%s); after the repair: %zu, verify: %s\n",
        report->damage ? report->damage->to_string().c_str() : "intact", before.records.size(),
        before.complete ? "to the end" : "stopped by an error", repaired.records.size(),
        !after.ok()     ? after.status().to_string().c_str()
        : after->damage ? after->damage->to_string().c_str()
                        : "intact");
  }
  require(after.ok() && after->intact());
  require(repaired.complete);
  // What a reader read before is kept, and nothing else unless the damage took no record (a file
  // cut only after its records, whose next segment stays).
  const bool size_only = report->damage && report->damage->size_only;
  require(repaired.records.size() >= before.records.size());
  require(std::equal(before.records.begin(), before.records.end(), repaired.records.begin()));
  if (!size_only) require(repaired.records == before.records);
  auto names = again->list(kDir);
  require(names.ok());
  for (const std::string& name : *names) {
    if (!name.ends_with(".wal")) continue;
    auto bytes = again->read_file(std::string(kDir) + "/" + name);
    // Every segment file of a repaired log has a size a log makes: the writer fills what it is
    // given and names it in a header, which readers refuse for any other size.
    require(bytes.ok() && format::is_segment_size(bytes->size()));
    format::SegmentHeader h;
    std::string why;
    if (format::decode_segment_header(reinterpret_cast<const std::byte*>(bytes->data()), &h,
                                      &why) == format::HeaderState::kValid) {
      require(h.segment_bytes == bytes->size());
    }
  }
  return 0;
}
