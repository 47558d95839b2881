// `cairn-bench micro [google-benchmark flags]`: Google Benchmark micro-benchmarks of the append
// path's pieces, one core each: encoding a record, checksumming and decoding a frame, the staging
// ring alone, and Log::append without syncing. DESIGN.md's "CPU facts" come from these.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_dir.h"
#include "blob_encoder.h"
#include "cairn/log/log.h"
#include "cairn/schema/record_schema.h"
#include "frame_decoder.h"
#include "frame_format.h"
#include "staging_ring.h"
#include "subcommand.h"

namespace cairn::bench {
namespace {

namespace format = log::format;

constexpr uint32_t kDataBytes = 128;  // the 128-byte payload of the log targets

// A complete, valid frame holding one encoded Blob with 128 data bytes at LSN `lsn`.
std::vector<std::byte> blob_frame(log::Lsn lsn) {
  BlobEncoder encoder(7, kDataBytes);
  const std::span<const std::byte> payload = encoder.encode(42);
  const auto len = static_cast<uint32_t>(payload.size());
  std::vector<std::byte> frame(format::frame_size(len));
  format::store_u64(frame.data() + format::kLengthOffset,
                    format::tag_word(len, kBlobRecordType, 0));
  format::store_u64(frame.data() + format::kLsnOffset, lsn);
  std::memcpy(frame.data() + format::kFrameHeaderSize, payload.data(), len);
  format::store_u64(frame.data() + format::kChecksumOffset,
                    format::frame_checksum(frame.data(), len));
  return frame;
}

void BM_BlobEncodeReusedBuilder(benchmark::State& state) {
  BlobEncoder encoder(1, kDataBytes);
  uint64_t seq = 0;
  for (auto _ : state) {
    const std::span<const std::byte> payload = encoder.encode(seq++);
    benchmark::DoNotOptimize(payload.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BlobEncodeReusedBuilder);

void BM_Xxh3FrameChecksum(benchmark::State& state) {
  std::vector<std::byte> frame = blob_frame(4096);
  const auto len = static_cast<uint32_t>(frame.size() - format::kFrameHeaderSize);
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    benchmark::DoNotOptimize(format::frame_checksum(frame.data(), len));
  }
  state.SetLabel(std::to_string(frame.size()) + "-byte frame");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_Xxh3FrameChecksum);

void BM_DecodeFrameVerifyPayload(benchmark::State& state) {
  const log::Lsn lsn = 4096;
  std::vector<std::byte> frame = blob_frame(lsn);
  format::DecodedFrame out;
  if (format::decode_frame(frame, lsn, &schema::verify_payload, &out) != format::FrameCheck::kOk) {
    state.SkipWithError("the test frame does not decode");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    benchmark::DoNotOptimize(format::decode_frame(frame, lsn, &schema::verify_payload, &out));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_DecodeFrameVerifyPayload);

// The appender's side of the staging ring: reserve, copy the frame in, publish. The writer's side
// (releasing and zeroing space) runs outside the timed region every half ring.
void BM_StagingRingAppend(benchmark::State& state) {
  Result<std::unique_ptr<log::StagingRing>> made = log::StagingRing::create(16u << 20, 0);
  if (!made.ok()) {
    state.SkipWithError(made.status().to_string().c_str());
    return;
  }
  std::unique_ptr<log::StagingRing> owned = std::move(*made);
  log::StagingRing& ring = *owned;
  BlobEncoder encoder(1, kDataBytes);
  const std::span<const std::byte> payload = encoder.encode(1);
  const auto len = static_cast<uint32_t>(payload.size());
  const uint32_t size = format::frame_size(len);
  const uint64_t tag = format::tag_word(len, kBlobRecordType, 0);
  for (auto _ : state) {
    const log::Lsn pos = ring.reserve(size);
    ring.write_u64(pos + format::kChecksumOffset, 0);
    ring.write_u64(pos + format::kLsnOffset, pos);
    ring.write(pos + format::kFrameHeaderSize, payload.data(), len);
    ring.publish(pos, tag);
    if (pos + size - ring.released() > ring.capacity() / 2) {
      state.PauseTiming();
      ring.release(pos + size);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_StagingRingAppend);

// Log::append into a log that never syncs (Durability::kNoneUnsafe): the append path plus the
// writer's gathering and buffered writes, one log per run (Setup/Teardown).
struct MicroLog {
  std::filesystem::path dir;
  std::unique_ptr<log::Log> log;
};
MicroLog* g_micro_log = nullptr;

void open_micro_log(const benchmark::State&) {
  static MicroLog micro;
  micro.dir = default_data_dir("micro");
  std::filesystem::remove_all(micro.dir);
  log::LogOptions options;
  options.durability = log::Durability::kNoneUnsafe;
  Result<std::unique_ptr<log::Log>> opened = log::Log::open(micro.dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "cairn-bench micro: %s\n", opened.status().to_string().c_str());
    std::exit(kExitFailed);
  }
  micro.log = std::move(*opened);
  g_micro_log = &micro;
}

void close_micro_log(const benchmark::State&) {
  (void)g_micro_log->log->close();
  g_micro_log->log.reset();
  std::filesystem::remove_all(g_micro_log->dir);
  std::error_code ec;
  std::filesystem::remove(g_micro_log->dir.parent_path(), ec);  // if now empty
}

void BM_LogAppendNoneUnsafe(benchmark::State& state) {
  BlobEncoder encoder(static_cast<uint32_t>(state.thread_index()), kDataBytes);
  uint64_t seq = 0;
  log::Log& log = *g_micro_log->log;
  for (auto _ : state) {
    Result<log::Lsn> lsn = log.append(kBlobRecordType, encoder.encode(seq++));
    if (!lsn.ok()) {
      state.SkipWithError(lsn.status().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LogAppendNoneUnsafe)
    ->Setup(open_micro_log)
    ->Teardown(close_micro_log)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

int run_micro_command(const std::vector<std::string>& flags) {
  std::vector<std::string> args{"cairn-bench micro"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) return kExitUsage;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return kExitOk;
}

}  // namespace

void add_micro_subcommand(CLI::App& root, SubcommandRun* selected) {
  CLI::App* cmd = root.add_subcommand(
      "micro",
      "Google Benchmark micro-benchmarks of the append path (encode, checksum, decode, staging "
      "ring, Log::append without sync). Other flags go to Google Benchmark, e.g. "
      "--benchmark_filter=Decode --benchmark_repetitions=3.");
  cmd->allow_extras();
  cmd->callback([cmd, selected] {
    *selected = [flags = cmd->remaining()] { return run_micro_command(flags); };
  });
}

}  // namespace cairn::bench
