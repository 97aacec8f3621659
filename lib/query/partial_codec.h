// The pieces the partial result kinds encode and decode their bodies with:
// little-endian fixed-width writers and a bounds-checked reader whose errors
// are DataLoss naming the offset from the start of the whole encoding.
// Byte format: docs/format.md, "Partial query result".
#ifndef FEATUREBASE_LIB_QUERY_PARTIAL_CODEC_H_
#define FEATUREBASE_LIB_QUERY_PARTIAL_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/util/endian.h"

namespace featurebase::internal {

// Bytes before the body: magic, version, flags, body length, checksum.
inline constexpr size_t kPartialHeader = 24;

inline void PutI128(std::string* out, __int128 v) {
  PutFixed<uint64_t>(out, uint64_t(v));
  PutFixed<uint64_t>(out, uint64_t(static_cast<unsigned __int128>(v) >> 64));
}

inline void PutFlag(std::string* out, bool b) { out->push_back(char(b)); }

class PartialReader {
 public:
  explicit PartialReader(std::string_view body) : body_(body) {}
  size_t offset() const { return kPartialHeader + pos_; }
  bool done() const { return pos_ == body_.size(); }

  template <typename T>
  absl::StatusOr<T> Fixed(std::string_view what) {
    if (absl::Status s = Need(sizeof(T), what); !s.ok()) return s;
    T v = LoadFixed<T>(body_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<__int128> I128(std::string_view what);
  // A byte that must be 0 or 1.
  absl::StatusOr<bool> Flag(std::string_view what);
  absl::StatusOr<std::string_view> Bytes(size_t n, std::string_view what);
  // A count of entries each at least `min_bytes` long: rejects counts the
  // remaining bytes cannot hold (so no huge allocation on corrupt input).
  absl::StatusOr<uint64_t> Count(size_t min_bytes, std::string_view what);
  // A count that must also be within `cap` (0: no cap).
  absl::StatusOr<uint64_t> CappedCount(size_t min_bytes, uint64_t cap,
                                       std::string_view what);
  // DataLoss "decode partial result: <what> at offset <at>".
  absl::Status Bad(size_t at, std::string_view what) const;

 private:
  absl::Status Need(size_t n, std::string_view what) const;

  std::string_view body_;
  size_t pos_ = 0;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_PARTIAL_CODEC_H_
