// LogOptions for a log on a SimDisk (sim_disk.h): small segments and batches, so that a few MB of
// records span several segments, with the disk's file system and IoQueues.
#pragma once

#include "cairn/log/options.h"
#include "support/sim_disk.h"

namespace cairn::testing {

// 1 MiB segments from the first, 256 KiB batches, 64 KiB records, 1 MiB of staging.
inline log::LogOptions sim_log_options(SimDisk& disk) {
  log::LogOptions o;
  o.segment_bytes = 1 << 20;
  o.segment_bytes_initial = 1 << 20;
  o.batch_bytes_max = 256 << 10;
  o.record_bytes_max = 64 << 10;
  o.staging_bytes = 1 << 20;
  o.file_system = disk.file_system();
  o.io_queue_factory = disk.io_queue_factory();
  return o;
}

}  // namespace cairn::testing
