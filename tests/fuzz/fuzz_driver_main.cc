// A plain driver for a fuzz target (LLVMFuzzerTestOneInput), so every build — also with GCC, also
// under ASan — runs the targets in CTest: first every file of the seed corpus, then N inputs made
// from a fixed seed, most of them mutated corpus files, some pure noise. The same seed gives the
// same inputs, so a failure repeats. When a target crashes, the input is written to
// fuzz-crash-input.bin in the working directory.
//
//   frame_decoder_fuzz_driver CORPUS_DIR [ITERATIONS=200000] [SEED=20240601]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present in sanitizer builds: lets the driver save the input before ASan ends the process.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

// UBSan's defaults for this binary: abort on a finding (its runtime has no death callback of its
// own), so that the signal handler below saves the input.
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:abort_on_error=1";
}

namespace {

using Input = std::vector<uint8_t>;

constexpr size_t kInputBytesMax = 16 << 10;

// The input being run, for the crash handlers (set before each run).
const Input* g_current = nullptr;

void save_current_input() {
  if (g_current == nullptr) return;
  const int fd = ::open("fuzz-crash-input.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = ::write(fd, g_current->data(), g_current->size());
  ::close(fd);
  static const char kNote[] = "fuzz driver: the failing input is in fuzz-crash-input.bin\n";
  n = ::write(2, kNote, sizeof kNote - 1);
}

void on_fatal_signal(int sig) {
  save_current_input();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run(const Input& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current = nullptr;
}

std::vector<Input> load_corpus(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // a fixed order, for repeatable runs
  std::vector<Input> corpus;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return corpus;
}

// Values that sit on the edges the decoders check: zero, one, sign bits, the 64 MiB payload
// limit, the 4 KiB block, all ones.
constexpr uint64_t kInteresting[] = {
    0,    1,    8,           24,       0x7f,           0x80,        0xff,
    4096, 4095, 0x7fff'ffff, 64 << 20, (64 << 20) + 1, 0xffff'ffff, ~uint64_t{0}};

class Mutator {
 public:
  Mutator(const std::vector<Input>& corpus, uint64_t seed) : corpus_(corpus), rng_(seed) {}

  Input next() {
    if (corpus_.empty() || pick(8) == 0) return noise();
    Input in = corpus_[pick(corpus_.size())];
    const size_t steps = 1 + pick(8);
    for (size_t i = 0; i < steps; ++i) mutate(in);
    if (in.size() > kInputBytesMax) in.resize(kInputBytesMax);
    return in;
  }

 private:
  size_t pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  Input noise() {
    Input in(pick(pick(2) ? 64 : 5000));
    for (uint8_t& b : in) b = static_cast<uint8_t>(rng_());
    return in;
  }

  void mutate(Input& in) {
    switch (pick(8)) {
      case 0:  // flip a bit
        if (!in.empty()) in[pick(in.size())] ^= static_cast<uint8_t>(1u << pick(8));
        break;
      case 1:  // a random byte
        if (!in.empty()) in[pick(in.size())] = static_cast<uint8_t>(rng_());
        break;
      case 2: {  // an interesting 1, 2, 4 or 8-byte value
        const size_t width = size_t{1} << pick(4);
        if (in.size() < width) break;
        const uint64_t v = kInteresting[pick(std::size(kInteresting))];
        std::memcpy(&in[pick(in.size() - width + 1)], &v, width);
        break;
      }
      case 3: {  // insert random bytes
        Input bytes(1 + pick(16));
        for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng_());
        in.insert(in.begin() + static_cast<ptrdiff_t>(pick(in.size() + 1)), bytes.begin(),
                  bytes.end());
        break;
      }
      case 4: {  // erase a range
        if (in.empty()) break;
        const size_t at = pick(in.size());
        const size_t n = 1 + pick(std::min<size_t>(in.size() - at, 64));
        in.erase(in.begin() + static_cast<ptrdiff_t>(at),
                 in.begin() + static_cast<ptrdiff_t>(at + n));
        break;
      }
      case 5:  // truncate
        in.resize(pick(in.size() + 1));
        break;
      case 6: {  // repeat a range
        if (in.empty()) break;
        const size_t at = pick(in.size());
        const size_t n = 1 + pick(std::min<size_t>(in.size() - at, 256));
        const Input part(in.begin() + static_cast<ptrdiff_t>(at),
                         in.begin() + static_cast<ptrdiff_t>(at + n));
        in.insert(in.begin() + static_cast<ptrdiff_t>(pick(in.size() + 1)), part.begin(),
                  part.end());
        break;
      }
      default: {  // splice: the tail of another corpus file
        const Input& other = corpus_[pick(corpus_.size())];
        const size_t keep = pick(in.size() + 1);
        in.resize(keep);
        in.insert(in.end(), other.begin() + static_cast<ptrdiff_t>(pick(other.size() + 1)),
                  other.end());
        break;
      }
    }
  }

  const std::vector<Input>& corpus_;
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS=200000] [SEED=20240601]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const uint64_t iterations = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200000;
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20240601;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "%s: no corpus directory %s\n", argv[0], dir.c_str());
    return 2;
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP})
    std::signal(sig, on_fatal_signal);
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(save_current_input);

  const std::vector<Input> corpus = load_corpus(dir);
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: the corpus directory %s is empty\n", argv[0], dir.c_str());
    return 2;
  }
  for (const Input& in : corpus) run(in);
  Mutator mutator(corpus, seed);
  for (uint64_t i = 0; i < iterations; ++i) run(mutator.next());
  std::printf("%s: %zu corpus files and %llu generated inputs (seed %llu): no failure\n", argv[0],
              corpus.size(), static_cast<unsigned long long>(iterations),
              static_cast<unsigned long long>(seed));
  return 0;
}
