// power_cut_rounds: the power-cut rounds of the test suite, for long runs and for replaying one
// failing round.
//   power_cut_rounds log [--variant direct|buffered|one-in-flight] [--rounds N] [--seed S]
//   power_cut_rounds engine [--rounds N] [--seed S] [--verbose]
// Prints one line per 100 rounds (10 for the engine, or every round with --verbose; at the end,
// what the engine's cron, timeout, debounce and batching functions did over all rounds) and exits 0
// when every round held, 1 with the failure (and the command that replays its round), 2 on bad
// arguments.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "power_cut/engine_power_cut.h"
#include "power_cut/log_power_cut.h"
#include "power_cut/power_cut_rounds.h"

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "power_cut_rounds: %s\n"
               "usage: power_cut_rounds log [--variant direct|buffered|one-in-flight] "
               "[--rounds N] [--seed S]\n"
               "       power_cut_rounds engine [--rounds N] [--seed S] [--verbose]\n",
               why);
  return 2;
}

bool parse_u64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const std::string s(text);
  *out = std::strtoull(s.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cairn::testing;
  if (argc < 2) return usage("which rounds? (log or engine)");
  const std::string target = argv[1];
  if (target != "log" && target != "engine") {
    return usage(("unknown target '" + target + "'").c_str());
  }
  std::string variant = "direct";
  uint64_t rounds = 1000;
  uint64_t seed = fresh_seed();
  bool verbose = false;  // engine: a line per round
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--variant" && has_value) {
      variant = argv[++i];
    } else if (arg == "--rounds" && has_value) {
      if (!parse_u64(argv[++i], &rounds)) return usage("--rounds needs a number");
    } else if (arg == "--verbose") {
      verbose = true;
    } else if (arg == "--seed" && has_value) {
      if (!parse_u64(argv[++i], &seed)) return usage("--seed needs a number");
    } else {
      return usage(("unknown argument '" + std::string(arg) + "'").c_str());
    }
  }
  LogCutConfig config;
  if (variant == "buffered") {
    config.direct_io = false;
  } else if (variant == "one-in-flight") {
    config.writes_in_flight = 1;
  } else if (variant != "direct") {
    return usage(("unknown variant '" + variant + "'").c_str());
  }
  const bool engine = target == "engine";
  const std::string command =
      engine ? "power_cut_rounds engine" : "power_cut_rounds log --variant " + variant;
  std::printf("%s --rounds %llu --seed %llu\n", command.c_str(),
              static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(seed));
  uint64_t done = 0;
  uint64_t count = 0;    // records acknowledged (log), power cuts (engine)
  EngineCutTimed timed;  // the engine's timed and keyed functions, summed
  uint64_t snapshot_loads = 0;
  const uint64_t every = engine ? 10 : 100;
  const std::string failure = run_rounds(seed, rounds, command, [&](uint64_t s) {
    std::string f;
    if (engine) {
      const EngineCutResult r = run_engine_cut_round(EngineCutConfig{.seed = s});
      count += r.cuts;
      timed.add(r.timed);
      snapshot_loads += r.snapshot_loads;
      if (verbose) {
        std::printf(
            "round %llu (seed %llu): %llu cuts (%llu during start()), %llu snapshots "
            "compared; %s\n",
            static_cast<unsigned long long>(done), static_cast<unsigned long long>(s),
            static_cast<unsigned long long>(r.cuts),
            static_cast<unsigned long long>(r.cuts_during_start),
            static_cast<unsigned long long>(r.snapshot_loads), r.timed.to_string().c_str());
      }
      f = r.failure;
    } else {
      config.seed = s;
      const LogCutResult r = run_log_cut_round(config);
      count += r.acknowledged;
      f = r.failure;
    }
    if (++done % every == 0) {
      std::printf("%llu rounds, %llu %s\n", static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(count),
                  engine ? "power cuts" : "records acknowledged");
      std::fflush(stdout);
    }
    return f;
  });
  if (!failure.empty()) {
    std::printf("FAILED %s\n", failure.c_str());
    return 1;
  }
  std::printf("all %llu rounds held (%llu %s)\n", static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(count),
              engine ? "power cuts" : "records acknowledged");
  if (engine) {
    std::printf("%llu images with a snapshot compared with a full replay; %s\n",
                static_cast<unsigned long long>(snapshot_loads), timed.to_string().c_str());
  }
  return 0;
}
