// Byte encoding shared by the write-ahead log and checkpoint files:
// little-endian fixed-width integers, length-prefixed strings and roaring
// bitmaps (docs/format.md, "Durable index"). The reader checks every bound
// and reports DataLoss naming what it read, the file and the offset.
#ifndef FEATUREBASE_LIB_STORAGE_CODEC_H_
#define FEATUREBASE_LIB_STORAGE_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurebase/field.h"
#include "lib/bitmap/roaring32.h"
#include "lib/core/row_data.h"
#include "lib/util/endian.h"

namespace featurebase::internal {

inline void PutU8(std::string* out, uint8_t v) { out->push_back(char(v)); }
inline void PutU32(std::string* out, uint32_t v) { PutFixed(out, v); }
inline void PutU64(std::string* out, uint64_t v) { PutFixed(out, v); }
inline void PutI64(std::string* out, int64_t v) { PutFixed(out, v); }
// u32 length, then the bytes.
void PutBytes(std::string* out, std::string_view bytes);
// u32 length, then the portable roaring bytes (length 0: empty).
void PutBitmap(std::string* out, const Roaring32& bits);
// A fragment row, in PutBitmap's encoding.
void PutRow(std::string* out, const internal::RowData& row);
// Ascending unique values, in PutBitmap's encoding.
void PutSortedValues(std::string* out, std::span<const uint32_t> values);
// A field's options (docs/format.md "Field options").
void PutFieldOptions(std::string* out, const FieldOptions& o);

// Reads from `bytes`; offsets in errors are `base` + the position, in file
// `file`.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string_view file, uint64_t base)
      : bytes_(bytes), file_(file), base_(base) {}

  bool done() const { return pos_ == bytes_.size(); }
  size_t pos() const { return pos_; }
  uint64_t offset() const { return base_ + pos_; }

  absl::StatusOr<uint8_t> U8(std::string_view what);
  absl::StatusOr<uint32_t> U32(std::string_view what);
  absl::StatusOr<uint64_t> U64(std::string_view what);
  absl::StatusOr<int64_t> I64(std::string_view what);
  // `n` raw bytes (a view into the input).
  absl::StatusOr<std::string_view> Raw(size_t n, std::string_view what);
  absl::StatusOr<std::string_view> Bytes(std::string_view what);
  absl::StatusOr<Roaring32> Bitmap(std::string_view what);
  // A fragment row in PutBitmap's encoding, decoded straight into the
  // representation its size calls for (RowData::DecodePortable); empty
  // bytes give an empty row. Errors as Bitmap's.
  absl::StatusOr<RowData> Row(OwnerToken owner, std::string_view what);
  absl::StatusOr<FieldOptions> Options(std::string_view what);

  // DataLoss "<file>: <what> at offset <offset>".
  absl::Status Corrupt(std::string_view what) const;
  // DataLoss "<file>: <what> at offset <offset>: <cause's message>".
  absl::Status Corrupt(std::string_view what, const absl::Status& cause) const;

 private:
  std::string_view bytes_;
  std::string_view file_;
  uint64_t base_;
  size_t pos_ = 0;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_CODEC_H_
