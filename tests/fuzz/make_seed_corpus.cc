// Writes the fuzz targets' seed corpus (run at build time): one valid payload of every record
// type, and for the frame decoder those payloads in valid frames, frames with LSNs that do not
// match, frames behind a checksum-fixing control byte, a segment header block, a segment file
// name and an empty frame; for segment_scan_fuzz, whole segments (whole, cut short, torn, with a
// next segment). Mutating valid inputs reaches far deeper than random bytes would.
//
//   make_seed_corpus OUT_DIR   -> OUT_DIR/frame_decoder/*, OUT_DIR/payload_verify/*,
//                                 OUT_DIR/segment_scan/*
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cairn/schema/record_schema.h"
#include "clean_close.h"
#include "frame_format.h"

namespace {

namespace fs = std::filesystem;
namespace sc = cairn::schema;
namespace fmt = cairn::log::format;
using Bytes = std::vector<uint8_t>;

template <typename Build>
Bytes payload(Build build) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(build(fbb));
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

flatbuffers::Offset<sc::StepRef> step(flatbuffers::FlatBufferBuilder& fbb) {
  return sc::CreateStepRefDirect(fbb, 42, 3, "charge-card");
}

// One filled-in payload per record type, by type number.
std::vector<std::pair<uint16_t, Bytes>> sample_payloads() {
  const Bytes output = {'{', '"', 'o', 'k', '"', ':', '1', '}'};
  std::vector<std::pair<uint16_t, Bytes>> out;
  auto add = [&](sc::RecordType type, Bytes bytes) {
    out.emplace_back(static_cast<uint16_t>(type), std::move(bytes));
  };
  add(sc::RecordType::EventAccepted, payload([](auto& fbb) {
        std::vector<flatbuffers::Offset<flatbuffers::String>> fns = {fbb.CreateString("on-order"),
                                                                     fbb.CreateString("audit")};
        return sc::CreateEventAcceptedDirect(fbb, "evt-1", "order.placed", "{\"id\":7}",
                                             1700000000000, 10, &fns, step(fbb), true);
      }));
  add(sc::RecordType::RunCreated, payload([](auto& fbb) {
        return sc::CreateRunCreatedDirect(fbb, 11, "on-order", "order.placed", "{}", 17, step(fbb));
      }));
  add(sc::RecordType::StepCompleted, payload([&](auto& fbb) {
        return sc::CreateStepCompletedDirect(fbb, step(fbb), 1, &output);
      }));
  add(sc::RecordType::StepFailed, payload([](auto& fbb) {
        return sc::CreateStepFailedDirect(fbb, step(fbb), 2, sc::FailureKind::RetryAfter,
                                          "card declined", 1700000000500);
      }));
  add(sc::RecordType::StepFailed, payload([](auto& fbb) {
        return sc::CreateStepFailedDirect(fbb, step(fbb), 1, sc::FailureKind::NoRoom,
                                          "runs_active_max (1) unfinished runs reached",
                                          1700000000100);
      }));
  add(sc::RecordType::SleepStarted,
      payload([](auto& fbb) { return sc::CreateSleepStarted(fbb, step(fbb), 1700000009000); }));
  add(sc::RecordType::WaitStarted, payload([](auto& fbb) {
        return sc::CreateWaitStartedDirect(fbb, step(fbb), "payment.done", "data.order_id", "7",
                                           1700000060000);
      }));
  add(sc::RecordType::RunResumed, payload([](auto& fbb) {
        return sc::CreateRunResumed(fbb, step(fbb), sc::ResumeReason::WaitTimedOut);
      }));
  add(sc::RecordType::RunCompleted,
      payload([&](auto& fbb) { return sc::CreateRunCompletedDirect(fbb, 11, &output); }));
  add(sc::RecordType::RunFailed,
      payload([](auto& fbb) { return sc::CreateRunFailedDirect(fbb, 11, "gave up", 12); }));
  add(sc::RecordType::RunCancelled,
      payload([](auto& fbb) { return sc::CreateRunCancelledDirect(fbb, 11, "user asked"); }));
  add(sc::RecordType::Blob, payload([](auto& fbb) {
        const Bytes data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
        return sc::CreateBlobDirect(fbb, 3, 99, &data);
      }));
  return out;
}

Bytes frame(uint16_t type, cairn::log::Lsn lsn, const Bytes& p) {
  Bytes f(fmt::frame_size(static_cast<uint32_t>(p.size())));
  auto* b = reinterpret_cast<std::byte*>(f.data());
  fmt::store_u64(b + fmt::kLengthOffset, fmt::tag_word(static_cast<uint32_t>(p.size()), type, 0));
  fmt::store_u64(b + fmt::kLsnOffset, lsn);
  std::memcpy(f.data() + fmt::kFrameHeaderSize, p.data(), p.size());
  fmt::store_u64(b, fmt::frame_checksum(b, static_cast<uint32_t>(p.size())));
  return f;
}

// [control][expected LSN][bytes]: the frame decoder target's input layout.
Bytes frame_input(uint8_t control, cairn::log::Lsn expected, const Bytes& bytes) {
  Bytes in(9 + bytes.size());
  in[0] = control;
  std::memcpy(&in[1], &expected, 8);
  std::memcpy(&in[9], bytes.data(), bytes.size());
  return in;
}

void write(const fs::path& file, const Bytes& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_seed_corpus: cannot write %s\n", file.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path frames = fs::path(argv[1]) / "frame_decoder";
  const fs::path payloads = fs::path(argv[1]) / "payload_verify";
  fs::create_directories(frames);
  fs::create_directories(payloads);

  const cairn::log::Lsn lsn = 8192;
  for (const auto& [type, p] : sample_payloads()) {
    const std::string name(sc::record_type_name(type));
    write(payloads / name, p);
    const Bytes f = frame(type, lsn, p);
    write(frames / (name + "-ok"), frame_input(0, lsn, f));
    write(frames / (name + "-other-lsn"), frame_input(0, lsn + 8, f));
    write(frames / (name + "-fix-checksum"), frame_input(1, lsn, f));
    write(frames / (name + "-no-lsn-check"), frame_input(2, 0, f));
  }
  // Two frames in a row, as a batch holds them.
  const auto all = sample_payloads();
  Bytes two = frame(all[0].first, lsn, all[0].second);
  const Bytes second = frame(all[1].first, lsn + two.size(), all[1].second);
  two.insert(two.end(), second.begin(), second.end());
  write(frames / "two-frames", frame_input(0, lsn, two));
  write(frames / "zero-header", frame_input(0, 0, Bytes(fmt::kFrameHeaderSize)));

  // Segment files for segment_scan_fuzz: [flags][short][data after the header].
  const fs::path segments = fs::path(argv[1]) / "segment_scan";
  fs::create_directories(segments);
  Bytes records;
  for (const auto& [type, p] : all) {
    const Bytes f = frame(type, records.size(), p);
    records.insert(records.end(), f.begin(), f.end());
  }
  auto segment_input = [](uint8_t flags, uint8_t short_blocks, const Bytes& data) {
    Bytes in{flags, short_blocks};
    in.insert(in.end(), data.begin(), data.end());
    return in;
  };
  write(segments / "whole", segment_input(1, 0, records));
  write(segments / "cut-short", segment_input(0, 1, records));
  write(segments / "cut-inside-a-record",
        segment_input(0, 0, Bytes(records.begin(), records.end() - 40)));
  write(segments / "next-segment", segment_input(3, 0, records));
  write(segments / "cut-short-next-segment", segment_input(2, 2, records));
  write(segments / "broken-sequence", segment_input(7, 0, records));
  // Found by the target itself, kept as seeds: a segment with a header and no record followed by
  // one at the same LSN (a reader took the second for the log), and a first frame whose checksum
  // word is zero before a broken sequence (the repair left what then looked like a torn tail).
  write(segments / "empty-then-same-lsn", segment_input(3, 0, {}));
  // Found by a review: a last segment cut to fewer bytes than a header, one extended by 101
  // bytes, and an empty one of a size no log makes, each after the records.
  write(segments / "last-cut-below-a-header", segment_input(2 | 8, 27, records));
  write(segments / "last-extended", segment_input(1 | 16, 1, records));
  write(segments / "odd-empty-last", segment_input(1 | 32, 9, records));
  {
    Bytes hidden = records;
    std::fill(hidden.begin(), hidden.begin() + 8, 0);
    write(segments / "zeroed-word-then-broken-sequence", segment_input(7, 0, hidden));
  }
  {
    // Two batches: the second starts on the next block, after zeros.
    Bytes two = records;
    two.resize(fmt::round_up(two.size(), fmt::kBlockSize), 0);
    const Bytes f = frame(all[0].first, records.size(), all[0].second);
    two.insert(two.end(), f.begin(), f.end());
    write(segments / "two-batches", segment_input(1, 0, two));
    write(segments / "two-batches-cut", segment_input(0, 3, two));
    // A torn second batch: half of its frame.
    two.erase(two.end() - static_cast<std::ptrdiff_t>(f.size() / 2), two.end());
    write(segments / "torn-second-batch", segment_input(1, 0, two));
  }

  Bytes header(fmt::kSegmentHeaderSize);
  fmt::encode_segment_header(
      fmt::SegmentHeader{fmt::kFormatVersion, 7, 123456784, 64ull << 20, 1700000000000},
      reinterpret_cast<std::byte*>(header.data()));
  write(frames / "segment-header", header);
  const std::string name = fmt::segment_file_name(7, 123456784);
  write(frames / "segment-name", Bytes(name.begin(), name.end()));
  const auto marker =
      cairn::log::encode_clean_close(cairn::log::CleanClose{7, 123456784, 123460000});
  const auto* m = reinterpret_cast<const char*>(marker.data());
  write(frames / "clean-close-marker", Bytes(m, m + marker.size()));
  return 0;
}
