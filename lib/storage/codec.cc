#include "lib/storage/codec.h"

#include <cstring>

#include "fmt/format.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

void PutBytes(std::string* out, std::string_view bytes) {
  PutU32(out, uint32_t(bytes.size()));
  out->append(bytes);
}

namespace {

// Writes a length-prefixed portable bitmap (length 0 for an empty one).
template <typename Bits>
void PutPortable(std::string* out, const Bits& bits) {
  if (bits.Cardinality() == 0) {
    PutU32(out, 0);
    return;
  }
  const size_t at = out->size();
  PutU32(out, 0);
  bits.AppendPortable(out);
  const uint32_t n = uint32_t(out->size() - at - 4);
  std::memcpy(out->data() + at, &n, 4);
}

}  // namespace

void PutBitmap(std::string* out, const Roaring32& bits) {
  PutPortable(out, bits);
}

void PutRow(std::string* out, const internal::RowData& row) {
  PutPortable(out, row);
}

void PutSortedValues(std::string* out, std::span<const uint32_t> values) {
  struct Sorted {
    std::span<const uint32_t> v;
    size_t Cardinality() const { return v.size(); }
    void AppendPortable(std::string* out) const {
      Roaring32::AppendPortableSorted(v, out);
    }
  };
  PutPortable(out, Sorted{values});
}

void PutFieldOptions(std::string* out, const FieldOptions& o) {
  PutU8(out, uint8_t(o.type));
  PutU8(out, uint8_t(o.keys ? 1 : 0) | uint8_t(o.no_standard_view ? 2 : 0));
  PutBytes(out, o.time_quantum.ToString());
  PutI64(out, absl::ToInt64Nanoseconds(o.ttl));
  PutI64(out, o.min);
  PutI64(out, o.max);
  PutU32(out, uint32_t(o.scale));
  // The epoch as seconds and nanoseconds since the Unix epoch.
  const int64_t secs = absl::ToUnixSeconds(o.epoch);
  PutI64(out, secs);
  PutI64(out, absl::ToInt64Nanoseconds(o.epoch - absl::FromUnixSeconds(secs)));
  PutBytes(out, TimeUnitName(o.time_unit));
}

absl::Status ByteReader::Corrupt(std::string_view what) const {
  return absl::DataLossError(
      fmt::format("{}: {} at offset {}", file_, what, offset()));
}

absl::Status ByteReader::Corrupt(std::string_view what,
                                 const absl::Status& cause) const {
  return absl::DataLossError(fmt::format("{}: {} at offset {}: {}", file_, what,
                                         offset(), Message(cause)));
}

absl::StatusOr<std::string_view> ByteReader::Raw(size_t n,
                                                 std::string_view what) {
  if (bytes_.size() - pos_ < n) {
    return Corrupt(fmt::format("truncated {} (need {}, have {})", what, n,
                               bytes_.size() - pos_));
  }
  std::string_view out = bytes_.substr(pos_, n);
  pos_ += n;
  return out;
}

absl::StatusOr<uint8_t> ByteReader::U8(std::string_view what) {
  auto r = Raw(1, what);
  if (!r.ok()) return r.status();
  return uint8_t((*r)[0]);
}

absl::StatusOr<uint32_t> ByteReader::U32(std::string_view what) {
  auto r = Raw(4, what);
  if (!r.ok()) return r.status();
  return LoadFixed<uint32_t>(r->data());
}

absl::StatusOr<uint64_t> ByteReader::U64(std::string_view what) {
  auto r = Raw(8, what);
  if (!r.ok()) return r.status();
  return LoadFixed<uint64_t>(r->data());
}

absl::StatusOr<int64_t> ByteReader::I64(std::string_view what) {
  auto r = Raw(8, what);
  if (!r.ok()) return r.status();
  return LoadFixed<int64_t>(r->data());
}

absl::StatusOr<std::string_view> ByteReader::Bytes(std::string_view what) {
  auto n = U32(what);
  if (!n.ok()) return n.status();
  return Raw(*n, what);
}

absl::StatusOr<Roaring32> ByteReader::Bitmap(std::string_view what) {
  const uint64_t at = offset();
  auto bytes = Bytes(what);
  if (!bytes.ok()) return bytes.status();
  if (bytes->empty()) return Roaring32();
  auto bits = Roaring32::DecodePortable(*bytes);
  if (!bits.ok()) {
    return absl::DataLossError(fmt::format("{}: bad {} at offset {}: {}", file_,
                                           what, at, Message(bits.status())));
  }
  return std::move(*bits);
}

absl::StatusOr<RowData> ByteReader::Row(OwnerToken owner,
                                        std::string_view what) {
  const uint64_t at = offset();
  auto bytes = Bytes(what);
  if (!bytes.ok()) return bytes.status();
  if (bytes->empty()) return RowData();
  auto row = RowData::DecodePortable(owner, *bytes);
  if (!row.ok()) {
    return absl::DataLossError(fmt::format("{}: bad {} at offset {}: {}", file_,
                                           what, at, Message(row.status())));
  }
  return *std::move(row);
}

absl::StatusOr<FieldOptions> ByteReader::Options(std::string_view what) {
  const uint64_t at = offset();
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(
        fmt::format("{}: bad {} at offset {}: {}", file_, what, at, why));
  };
  FieldOptions o;
  auto type = U8(what);
  if (!type.ok()) return type.status();
  if (*type > uint8_t(FieldType::kTimestamp)) return bad("unknown field type");
  o.type = FieldType(*type);
  auto flags = U8(what);
  if (!flags.ok()) return flags.status();
  if (*flags > 3) return bad("unknown flags");
  o.keys = (*flags & 1) != 0;
  o.no_standard_view = (*flags & 2) != 0;
  auto quantum = Bytes(what);
  if (!quantum.ok()) return quantum.status();
  if (!quantum->empty()) {
    auto q = TimeQuantum::Parse(*quantum);
    if (!q.ok()) return bad("bad time quantum");
    o.time_quantum = *q;
  }
  auto ttl = I64(what);
  if (!ttl.ok()) return ttl.status();
  o.ttl = absl::Nanoseconds(*ttl);
  auto min = I64(what);
  if (!min.ok()) return min.status();
  auto max = I64(what);
  if (!max.ok()) return max.status();
  o.min = *min;
  o.max = *max;
  auto scale = U32(what);
  if (!scale.ok()) return scale.status();
  if (*scale > 19) return bad("scale over 19");
  o.scale = int(*scale);
  auto secs = I64(what);
  if (!secs.ok()) return secs.status();
  auto nanos = I64(what);
  if (!nanos.ok()) return nanos.status();
  if (*nanos < 0 || *nanos >= 1000000000) return bad("bad epoch nanoseconds");
  o.epoch = absl::FromUnixSeconds(*secs) + absl::Nanoseconds(*nanos);
  auto unit = Bytes(what);
  if (!unit.ok()) return unit.status();
  auto parsed = ParseTimeUnit(*unit);
  if (!parsed.ok()) return bad("bad time unit");
  o.time_unit = *parsed;
  return o;
}

}  // namespace featurebase::internal
