// The side journal: the child writes one line per step execution and per acknowledged send, each
// with one write(2) on an O_APPEND descriptor, so a SIGKILL loses nothing the child had written;
// the parent follows it while a child runs (JournalTail: when to interrupt it) and reads it back
// after the last round. Lines (each ends with " $"):
//   B <incarnation> <pid> $                       the child started
//   R <incarnation> <records> <runs_resumed> <recovery_us> $    engine.start() returned
//   X <run> <step_id> <attempt> <incarnation> <exec> <fails 0|1> $   a step body ran
//   S <event_id> <duplicate 0|1> <run,run,...|-> $               send() returned OK
//   E <incarnation> $                              every run finished; the child exits 0
//   T <incarnation> $                              asked to stop (SIGTERM), the engine shut down
// A kill can cut a line written across a page boundary: the next incarnation's first line starts
// with a newline, so the cut line stands alone and is recognised as cut (no " $").
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::engine_crash {

class JournalWriter {
 public:
  // Opens (creating) the journal for appending; aborts the process when it cannot.
  explicit JournalWriter(const std::filesystem::path& path);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void began(uint64_t incarnation, int64_t pid);
  void recovered(uint64_t incarnation, uint64_t records, uint64_t runs_resumed,
                 uint64_t recovery_us);
  void executed(uint64_t run, std::string_view step_id, uint32_t attempt, uint64_t incarnation,
                uint64_t exec, bool fails);
  void sent(std::string_view event_id, bool duplicate, const std::vector<uint64_t>& runs);
  void exited(uint64_t incarnation);
  void stopped(uint64_t incarnation);

 private:
  void write_line(std::string line);
  int fd_ = -1;
};

struct JournalEntry {
  enum class Kind : uint8_t { kBegan, kRecovered, kExecuted, kSent, kExited, kStopped };
  Kind kind = Kind::kBegan;
  size_t index = 0;  // position among the journal's entries (file order = real-time order)
  uint64_t incarnation = 0;
  // kRecovered
  uint64_t records = 0;
  uint64_t runs_resumed = 0;
  uint64_t recovery_us = 0;
  // kExecuted
  uint64_t run = 0;
  std::string step_id;
  uint32_t attempt = 0;
  uint64_t exec = 0;
  bool fails = false;
  // kSent
  std::string event_id;
  bool duplicate = false;
  std::vector<uint64_t> runs;
};

struct Journal {
  std::vector<JournalEntry> entries;
  size_t cut_lines = 0;               // lines cut by a kill (each followed by a "B" line)
  std::vector<std::string> problems;  // malformed lines anywhere else
};

Journal read_journal(const std::filesystem::path& path);

// Follows the journal while one incarnation runs, from the offset where that incarnation began:
// the crash test interrupts a child at a point of this progress, not at a time since the spawn.
class JournalTail {
 public:
  JournalTail(std::filesystem::path path, uint64_t from_offset)
      : path_(std::move(path)), offset_(from_offset) {}

  // Reads what was appended since the last poll (whole lines only). True when anything was.
  bool poll();

  bool began() const { return began_; }                // its "B" line
  bool recovered() const { return recovered_; }        // its "R" line: engine.start() returned
  uint64_t executions() const { return executions_; }  // its "X" lines

 private:
  void take_line(std::string_view line);

  std::filesystem::path path_;
  uint64_t offset_;
  std::string partial_;  // a line not ended yet
  bool began_ = false;
  bool recovered_ = false;
  uint64_t executions_ = 0;
};

}  // namespace cairn::engine_crash
