// CPU time over a measured window: this process's (getrusage) and the whole machine's
// (/proc/stat), so a result line says whether the run was CPU-bound and how busy the shared
// machine was with other work while it ran.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

namespace cairn::bench {

struct CpuSnapshot {
  double process_s = 0;      // user + system CPU seconds of this process
  uint64_t busy_ticks = 0;   // all CPUs, non-idle
  uint64_t total_ticks = 0;  // all CPUs
};

inline CpuSnapshot cpu_snapshot() {
  CpuSnapshot s;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.process_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) {
    s.busy_ticks = user + nice + system + irq + softirq + steal;
    s.total_ticks = s.busy_ticks + idle + iowait;
  }
  return s;
}

struct CpuUse {
  double process_cores = 0;  // CPU seconds of this process per second of the window
  double machine_cores = 0;  // busy CPUs of the whole machine, on average (0..ncpu)
};

inline CpuUse cpu_use_between(const CpuSnapshot& a, const CpuSnapshot& b, double seconds) {
  CpuUse u;
  if (seconds > 0) u.process_cores = (b.process_s - a.process_s) / seconds;
  const uint64_t total = b.total_ticks - a.total_ticks;
  if (total > 0) {
    u.machine_cores = static_cast<double>(b.busy_ticks - a.busy_ticks) /
                      static_cast<double>(total) * std::thread::hardware_concurrency();
  }
  return u;
}

}  // namespace cairn::bench
