// Import progress on stderr: a bar with records/s redrawn in place on a
// terminal, plain periodic lines otherwise (logs, CI), and one final line.
//
// Thread-compatible (the importer calls it from its parsing thread).
#ifndef FBC_PROGRESS_H_
#define FBC_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fbc {

class Progress {
 public:
  // `tty`: draw a bar; else print a line every `interval_seconds`.
  // `out` null: silent.
  Progress(std::FILE* out, bool tty, double interval_seconds = 1.0);

  // Reports `records` read so far and `bytes` of `total_bytes` (0: unknown).
  // Draws at most every 100 ms (terminal) or `interval_seconds` (plain).
  void Update(uint64_t records, uint64_t bytes, uint64_t total_bytes);
  // The final line: `import: N records in S s (R records/s)`.
  void Finish(uint64_t records, uint64_t rejected);

  // "1.23M" style rate.
  static std::string Human(double x);

 private:
  using Clock = std::chrono::steady_clock;
  double Elapsed() const;
  std::FILE* out_;
  bool tty_;
  double interval_;
  Clock::time_point start_;
  double last_ = 0;
  bool drawn_ = false;
};

}  // namespace fbc

#endif  // FBC_PROGRESS_H_
