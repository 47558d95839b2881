// The side journal (see journal.h).
#include "engine_crash/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cairn::engine_crash {

JournalWriter::JournalWriter(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    std::fprintf(stderr, "journal %s: %s\n", path.c_str(), std::strerror(errno));
    std::abort();
  }
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalWriter::write_line(std::string line) {
  line += " $\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "journal write: %s\n", std::strerror(errno));
      std::abort();
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void JournalWriter::began(uint64_t incarnation, int64_t pid) {
  // The leading newline ends a line the previous incarnation's kill may have cut.
  write_line("\nB " + std::to_string(incarnation) + " " + std::to_string(pid));
}

void JournalWriter::recovered(uint64_t incarnation, uint64_t records, uint64_t runs_resumed,
                              uint64_t recovery_us) {
  write_line("R " + std::to_string(incarnation) + " " + std::to_string(records) + " " +
             std::to_string(runs_resumed) + " " + std::to_string(recovery_us));
}

void JournalWriter::executed(uint64_t run, std::string_view step_id, uint32_t attempt,
                             uint64_t incarnation, uint64_t exec, bool fails) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "X %llu %.*s %u %llu %llu %d",
                static_cast<unsigned long long>(run), static_cast<int>(step_id.size()),
                step_id.data(), attempt, static_cast<unsigned long long>(incarnation),
                static_cast<unsigned long long>(exec), fails ? 1 : 0);
  write_line(buf);
}

void JournalWriter::sent(std::string_view event_id, bool duplicate,
                         const std::vector<uint64_t>& runs) {
  std::string line = "S " + std::string(event_id) + (duplicate ? " 1 " : " 0 ");
  if (runs.empty()) line += "-";
  for (size_t i = 0; i < runs.size(); ++i) {
    if (i > 0) line += ",";
    line += std::to_string(runs[i]);
  }
  write_line(std::move(line));
}

void JournalWriter::exited(uint64_t incarnation) {
  write_line("E " + std::to_string(incarnation));
}
void JournalWriter::stopped(uint64_t incarnation) {
  write_line("T " + std::to_string(incarnation));
}

namespace {

bool parse_runs(const std::string& text, std::vector<uint64_t>* runs) {
  if (text == "-") return true;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) return false;
    runs->push_back(std::strtoull(item.c_str(), nullptr, 10));
  }
  return !runs->empty();
}

// One whole line (its " $" already removed) into `e`; false when it does not parse.
bool parse_line(const std::string& line, JournalEntry* e) {
  std::istringstream in(line);
  std::string tag;
  in >> tag;
  using K = JournalEntry::Kind;
  if (tag == "B") {
    int64_t pid;
    e->kind = K::kBegan;
    in >> e->incarnation >> pid;
  } else if (tag == "R") {
    e->kind = K::kRecovered;
    in >> e->incarnation >> e->records >> e->runs_resumed >> e->recovery_us;
  } else if (tag == "X") {
    int fails = -1;
    e->kind = K::kExecuted;
    in >> e->run >> e->step_id >> e->attempt >> e->incarnation >> e->exec >> fails;
    if (fails != 0 && fails != 1) return false;
    e->fails = fails == 1;
  } else if (tag == "S") {
    int dup = -1;
    std::string runs;
    e->kind = K::kSent;
    in >> e->event_id >> dup >> runs;
    if ((dup != 0 && dup != 1) || !parse_runs(runs, &e->runs)) return false;
    e->duplicate = dup == 1;
  } else if (tag == "E" || tag == "T") {
    e->kind = tag == "E" ? K::kExited : K::kStopped;
    in >> e->incarnation;
  } else {
    return false;
  }
  std::string rest;
  return !in.fail() && !(in >> rest);
}

}  // namespace

Journal read_journal(const std::filesystem::path& path) {
  Journal j;
  std::ifstream in(path);
  if (!in) {
    j.problems.push_back("cannot read the journal " + path.string());
    return j;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    JournalEntry e;
    const bool whole = line.size() >= 2 && line.compare(line.size() - 2, 2, " $") == 0;
    if (whole && parse_line(line.substr(0, line.size() - 2), &e)) {
      e.index = j.entries.size();
      j.entries.push_back(std::move(e));
      continue;
    }
    // Only a kill cuts a line, and the next incarnation begins right after it.
    const bool next_is_begin = i + 1 < lines.size() && lines[i + 1].rfind("B ", 0) == 0;
    if (!whole && next_is_begin) {
      ++j.cut_lines;
    } else {
      j.problems.push_back("journal line " + std::to_string(i + 1) + " is malformed: " + line);
    }
  }
  return j;
}

bool JournalTail::poll() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return false;  // not created yet: the child has not begun
  in.seekg(static_cast<std::streamoff>(offset_));
  char buf[1 << 16];
  bool any = false;
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    const auto n = static_cast<size_t>(in.gcount());
    offset_ += n;
    any = true;
    partial_.append(buf, n);
  }
  size_t start = 0;
  for (size_t end; (end = partial_.find('\n', start)) != std::string::npos; start = end + 1) {
    take_line(std::string_view(partial_).substr(start, end - start));
  }
  partial_.erase(0, start);
  return any;
}

void JournalTail::take_line(std::string_view line) {
  // Lines are checked once the incarnation is over (read_journal); here only their tags count.
  if (line.starts_with("B ")) began_ = true;
  if (line.starts_with("R ")) recovered_ = true;
  if (line.starts_with("X ")) ++executions_;
}

}  // namespace cairn::engine_crash
