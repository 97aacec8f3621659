#include "lib/bitmap/portable_validate.h"

#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/util/endian.h"

namespace featurebase::internal {
namespace {

constexpr uint32_t kCookieNoRuns = 12346;
constexpr uint32_t kCookieRuns = 12347;
constexpr uint32_t kNoOffsetThreshold = 4;
constexpr uint32_t kMaxArray = 4096;
constexpr size_t kBitsetBytes = 8192;

absl::Status Bad(size_t offset, std::string_view what) {
  return absl::DataLossError(
      fmt::format("decode roaring: {} at offset {}", what, offset));
}

absl::Status Truncated(size_t offset, size_t need, size_t have) {
  return absl::DataLossError(
      fmt::format("decode roaring: truncated at offset {} (need {}, have {})",
                  offset, need, have));
}

// Returned by WalkPortable when the visitor stops it.
constexpr size_t kStopped = SIZE_MAX;

// The one container walk behind ValidatePortable and DecodeSmallPortable, so
// that both check exactly the same things. A visitor with kCollects false
// sees nothing (the walk compiles to the bare checks); with kCollects true,
// Begin(n) is called once the container headers are in bounds, with the
// values they claim (false stops the walk: kStopped), then Run, Value and
// Word hand over each container's values in ascending order as they are
// checked. On error the visitor may have seen part of them.
template <typename Visitor>
absl::StatusOr<size_t> WalkPortable(std::string_view bytes, uint32_t max_value,
                                    Visitor& visit) {
  const char* p = bytes.data();
  const size_t n = bytes.size();
  size_t pos = 0;
  auto need = [&](size_t k) -> absl::Status {
    if (n - pos < k) return Truncated(pos, k, n - pos);
    return absl::OkStatus();
  };

  if (auto s = need(4); !s.ok()) return s;
  const uint32_t cookie = LoadFixed<uint32_t>(p);
  pos = 4;
  uint32_t count;
  bool has_runs;
  const char* run_flags = nullptr;
  if ((cookie & 0xFFFF) == kCookieRuns) {
    has_runs = true;
    count = (cookie >> 16) + 1;
    const size_t flag_bytes = (count + 7) / 8;
    if (auto s = need(flag_bytes); !s.ok()) return s;
    run_flags = p + pos;
    pos += flag_bytes;
  } else if (cookie == kCookieNoRuns) {
    has_runs = false;
    if (auto s = need(4); !s.ok()) return s;
    count = LoadFixed<uint32_t>(p + pos);
    pos += 4;
    if (count > 65536)
      return Bad(4, fmt::format("container count {} over 65536", count));
  } else {
    return Bad(0, fmt::format("unknown cookie {:#x}", cookie));
  }

  const size_t header_at = pos;
  if (auto s = need(size_t{4} * count); !s.ok()) return s;
  pos += size_t{4} * count;
  const bool has_offsets = !has_runs || count >= kNoOffsetThreshold;
  const size_t offsets_at = pos;
  if (has_offsets) {
    if (auto s = need(size_t{4} * count); !s.ok()) return s;
    pos += size_t{4} * count;
  }

  if constexpr (Visitor::kCollects) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; ++i)
      total += uint32_t{LoadFixed<uint16_t>(p + header_at + 4 * i + 2)} + 1;
    if (!visit.Begin(total)) return kStopped;
  }
  int64_t prev_key = -1;
  for (uint32_t i = 0; i < count; ++i) {
    const uint16_t key = LoadFixed<uint16_t>(p + header_at + 4 * i);
    const uint32_t card =
        uint32_t{LoadFixed<uint16_t>(p + header_at + 4 * i + 2)} + 1;
    if (int64_t{key} <= prev_key) {
      return Bad(header_at + 4 * i,
                 fmt::format("container key {} not above {}", key, prev_key));
    }
    prev_key = key;
    const uint64_t base = uint64_t{key} << 16;
    if (has_offsets && LoadFixed<uint32_t>(p + offsets_at + 4 * i) != pos) {
      return Bad(
          offsets_at + 4 * i,
          fmt::format("container {} offset {} where data starts at {}", i,
                      LoadFixed<uint32_t>(p + offsets_at + 4 * i), pos));
    }
    const size_t container_at = pos;
    uint64_t last_value;
    const bool is_run =
        has_runs && ((uint8_t(run_flags[i / 8]) >> (i % 8)) & 1);
    if (is_run) {
      if (auto s = need(2); !s.ok()) return s;
      const uint32_t runs = LoadFixed<uint16_t>(p + pos);
      pos += 2;
      if (runs == 0) return Bad(container_at, "empty run container");
      if (auto s = need(size_t{4} * runs); !s.ok()) return s;
      int64_t prev_end = -2;  // last value of the previous run
      uint64_t total = 0;
      for (uint32_t r = 0; r < runs; ++r) {
        const uint32_t start = LoadFixed<uint16_t>(p + pos + 4 * r);
        const uint32_t len = LoadFixed<uint16_t>(p + pos + 4 * r + 2);
        if (int64_t{start} <= prev_end + 1) {
          return Bad(
              pos + 4 * r,
              fmt::format("run {} overlaps or touches the previous run", r));
        }
        if (start + len > 0xFFFF)
          return Bad(pos + 4 * r, "run past the container end");
        prev_end = start + len;
        total += len + 1;
        if constexpr (Visitor::kCollects) visit.Run(base, start, len);
      }
      if (total != card) {
        return Bad(header_at + 4 * i + 2,
                   fmt::format("run container cardinality {} but runs hold {}",
                               card, total));
      }
      pos += size_t{4} * runs;
      last_value = base + uint64_t(prev_end);
    } else if (card <= kMaxArray) {
      if (auto s = need(size_t{2} * card); !s.ok()) return s;
      int64_t prev = -1;
      for (uint32_t j = 0; j < card; ++j) {
        const uint16_t v = LoadFixed<uint16_t>(p + pos + 2 * j);
        if (int64_t{v} <= prev)
          return Bad(pos + 2 * j, "array values not strictly increasing");
        prev = v;
        if constexpr (Visitor::kCollects) visit.Value(uint32_t(base + v));
      }
      pos += size_t{2} * card;
      last_value = base + uint64_t(prev);
    } else {
      if (auto s = need(kBitsetBytes); !s.ok()) return s;
      uint64_t bits = 0;
      int last_word = -1;
      for (int w = 0; w < 1024; ++w) {
        const uint64_t word = LoadFixed<uint64_t>(p + pos + 8 * w);
        bits += std::popcount(word);
        if (word != 0) last_word = w;
        if constexpr (Visitor::kCollects) visit.Word(base, w, word);
      }
      if (bits != card) {
        return Bad(
            container_at,
            fmt::format("bitmap container cardinality {} but {} bits set", card,
                        bits));
      }
      const uint64_t word = LoadFixed<uint64_t>(p + pos + 8 * last_word);
      last_value =
          base + uint64_t(last_word) * 64 + (63 - std::countl_zero(word));
      pos += kBitsetBytes;
    }
    if (last_value > max_value) {
      return Bad(container_at, fmt::format("value {} above the limit {}",
                                           last_value, max_value));
    }
  }
  return pos;
}

struct CheckOnly {
  static constexpr bool kCollects = false;
};

// Appends the values to *out, for bitmaps of at most max_values.
struct Collect {
  static constexpr bool kCollects = true;

  bool Begin(uint64_t total) const { return total <= max_values; }
  void Run(uint64_t base, uint32_t start, uint32_t len) {
    for (uint32_t v = start; v <= start + len; ++v)
      out->push_back(uint32_t(base + v));
  }
  void Value(uint32_t v) { out->push_back(v); }
  void Word(uint64_t base, int w, uint64_t word) {
    for (uint64_t x = word; x != 0; x &= x - 1) {
      out->push_back(uint32_t(base + uint64_t(w) * 64 + std::countr_zero(x)));
    }
  }

  size_t max_values;
  std::vector<uint32_t>* out;
};

}  // namespace

absl::StatusOr<size_t> ValidatePortable(std::string_view bytes,
                                        uint32_t max_value) {
  CheckOnly check;
  return WalkPortable(bytes, max_value, check);
}

absl::StatusOr<std::optional<SmallPortable>> DecodeSmallPortable(
    std::string_view bytes, size_t max_values, uint32_t max_value) {
  SmallPortable small;
  Collect collect{max_values, &small.values};
  auto size = WalkPortable(bytes, max_value, collect);
  if (!size.ok()) return size.status();
  if (*size == kStopped) return std::nullopt;
  small.size = *size;
  return small;
}

}  // namespace featurebase::internal
