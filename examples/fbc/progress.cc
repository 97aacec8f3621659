#include "examples/fbc/progress.h"

#include <algorithm>

namespace fbc {

Progress::Progress(std::FILE* out, bool tty, double interval_seconds)
    : out_(out), tty_(tty), interval_(interval_seconds), start_(Clock::now()) {}

double Progress::Elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

std::string Progress::Human(double x) {
  char buf[32];
  if (x >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fG", x / 1e9);
  } else if (x >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
  } else if (x >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fK", x / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", x);
  }
  return buf;
}

void Progress::Update(uint64_t records, uint64_t bytes, uint64_t total_bytes) {
  if (out_ == nullptr) return;
  const double now = Elapsed();
  if (now - last_ < (tty_ ? 0.1 : interval_)) return;
  last_ = now;
  const double rate = now > 0 ? double(records) / now : 0;
  const double frac =
      total_bytes > 0 ? std::min(1.0, double(bytes) / double(total_bytes)) : 0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = int(frac * kWidth);
    std::string bar(size_t(filled), '#');
    bar.append(size_t(kWidth - filled), '-');
    std::fprintf(out_, "\r[%s] %3.0f%%  %s records  %s records/s ", bar.c_str(),
                 frac * 100, Human(double(records)).c_str(),
                 Human(rate).c_str());
    drawn_ = true;
  } else {
    std::fprintf(out_, "progress: %llu records, %s records/s, %.0f%%\n",
                 static_cast<unsigned long long>(records), Human(rate).c_str(),
                 frac * 100);
  }
  std::fflush(out_);
}

void Progress::Finish(uint64_t records, uint64_t rejected) {
  if (out_ == nullptr) return;
  const double s = Elapsed();
  if (tty_ && drawn_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_,
               "import: %llu records, %llu rejected in %.2f s (%s records/s)\n",
               static_cast<unsigned long long>(records),
               static_cast<unsigned long long>(rejected), s,
               Human(s > 0 ? double(records) / s : 0).c_str());
  std::fflush(out_);
}

}  // namespace fbc
