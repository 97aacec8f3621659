#include "lib/storage/commit_codec.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <iterator>

#include "fmt/format.h"
#include "lib/storage/codec.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

namespace {

enum Op : uint8_t {
  kOpCreateField = 1,
  kOpField = 2,
  kOpFragment = 3,
  kOpDropView = 4,
  kOpBsiShard = 5,
  kOpBitDepth = 6,
  kOpCounters = 7,
  kOpStreamOffset = 8,
  kOpColumnKeys = 9,
  kOpRowKeys = 10,
};

// The view number the index existence fragments use under the "" field.
constexpr uint64_t kIndexExistsView = 0;

const Roaring32& EmptyBits() {
  static const Roaring32* empty = new Roaring32();
  return *empty;
}

// Writes one row's (removed, added) pair; returns false if nothing changed.
bool PutRowDiff(std::string* out, const Roaring32* before,
                const Roaring32* after) {
  if (before == after) return false;
  if (before == nullptr) before = &EmptyBits();
  if (after == nullptr) after = &EmptyBits();
  if (before->IsEmpty()) {
    if (after->IsEmpty()) return false;
    PutBitmap(out, EmptyBits());
    PutBitmap(out, *after);
    return true;
  }
  if (after->IsEmpty()) {
    PutBitmap(out, *before);
    PutBitmap(out, EmptyBits());
    return true;
  }
  Roaring32 removed = Roaring32::AndNot(*before, *after);
  Roaring32 added = Roaring32::AndNot(*after, *before);
  if (removed.IsEmpty() && added.IsEmpty()) return false;
  PutBitmap(out, removed);
  PutBitmap(out, added);
  return true;
}

// PutRowDiff for fragment rows (null = absent): inline and array rows are
// compared and written as they are, without building bitmaps.
bool PutRowDiff(std::string* out, const RowData* before, const RowData* after) {
  if ((before == nullptr || before->roaring() == nullptr) &&
      (after == nullptr || after->roaring() == nullptr)) {
    std::vector<uint32_t> a, b, removed, added;
    if (before) before->AppendTo(&a);
    if (after) after->AppendTo(&b);
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                        std::back_inserter(removed));
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(),
                        std::back_inserter(added));
    if (removed.empty() && added.empty()) return false;
    PutSortedValues(out, removed);
    PutSortedValues(out, added);
    return true;
  }
  std::deque<Roaring32> scratch;  // an inline or array row as a bitmap
  return PutRowDiff(out, before ? before->AsRoaring(&scratch) : nullptr,
                    after ? after->AsRoaring(&scratch) : nullptr);
}

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  // Selects `name` ("" = index existence) for the ops that follow; written
  // only when an op needs it.
  void Select(std::string_view name) {
    pending_ = name;
    selected_ = false;
  }
  void EnsureSelected() {
    if (selected_) return;
    PutU8(out_, kOpField);
    PutBytes(out_, pending_);
    selected_ = true;
  }

  void Fragment(uint64_t view, uint64_t shard, const internal::Fragment* a,
                const internal::Fragment* b) {
    if (a != nullptr && b != nullptr && a->rows().SameAs(b->rows())) return;
    static const PersistentMap<RowData> kNone;
    const auto& ra = a ? a->rows() : kNone;
    const auto& rb = b ? b->rows() : kNone;
    std::string body;
    uint32_t n = 0;
    PersistentMap<RowData>::Diff(
        ra, rb, [&](uint64_t row, const RowData* pa, const RowData* pb) {
          if (pa != nullptr && pb != nullptr && pa->SharesBitsWith(*pb)) return;
          const size_t at = body.size();
          PutU64(&body, row);
          if (PutRowDiff(&body, pa, pb)) {
            ++n;
          } else {
            body.resize(at);
          }
        });
    if (n == 0) return;
    EnsureSelected();
    PutU8(out_, kOpFragment);
    PutU64(out_, view);
    PutU64(out_, shard);
    PutU32(out_, n);
    out_->append(body);
  }

  void Views(const PersistentMap<View>& a, const PersistentMap<View>& b) {
    PersistentMap<View>::Diff(a, b,
                              [&](uint64_t vk, const View* va, const View* vb) {
                                if (vb == nullptr) {
                                  EnsureSelected();
                                  PutU8(out_, kOpDropView);
                                  PutU64(out_, vk);
                                  return;
                                }
                                FragmentsOf(vk, va, *vb);
                              });
  }

  void FragmentsOf(uint64_t vk, const View* va, const View& vb) {
    static const View kNone;
    if (va != nullptr && va->SameAs(vb)) return;
    View::Diff(
        va ? *va : kNone, vb,
        [&](uint64_t shard, const internal::Fragment* fa,
            const internal::Fragment* fb) { Fragment(vk, shard, fa, fb); });
  }

  void Bsi(const PersistentMap<BsiShard>& a, const PersistentMap<BsiShard>& b) {
    PersistentMap<BsiShard>::Diff(
        a, b, [&](uint64_t shard, const BsiShard* sa, const BsiShard* sb) {
          static const BsiShard kEmpty;
          if (sa == nullptr) sa = &kEmpty;
          if (sb == nullptr) sb = &kEmpty;
          const int rows = 2 + std::max(sa->depth(), sb->depth());
          std::string body;
          uint32_t n = 0;
          for (int r = 0; r < rows; ++r) {
            const Roaring32* ra = sa->row(r).get();
            const Roaring32* rb = sb->row(r).get();
            const size_t at = body.size();
            PutU8(&body, uint8_t(r));
            if (PutRowDiff(&body, ra, rb)) {
              ++n;
            } else {
              body.resize(at);
            }
          }
          if (n == 0) return;
          EnsureSelected();
          PutU8(out_, kOpBsiShard);
          PutU64(out_, shard);
          PutU8(out_, uint8_t(n));
          out_->append(body);
        });
  }

 private:
  std::string* out_;
  std::string pending_;
  bool selected_ = false;
};

}  // namespace

absl::Status EncodeCommit(const IndexState& base, const IndexState& next,
                          const KeyJournals& keys, std::string* out) {
  PutU64(out, next.version);
  for (const auto& [name, f] : base.fields) {
    if (next.fields.find(name) == next.fields.end()) {
      return absl::InternalError(
          fmt::format("log commit: field \"{}\" disappeared", name));
    }
  }
  // Schema first, then key frames, then data: replay creates fields before
  // their keys and bits.
  for (const auto& [name, f] : next.fields) {
    if (base.FindField(name) != nullptr) continue;
    PutU8(out, kOpCreateField);
    PutBytes(out, name);
    PutFieldOptions(out, f->options);
  }
  if (!keys.columns.empty()) {
    PutU8(out, kOpColumnKeys);
    PutBytes(out, keys.columns);
  }
  for (const auto& [field, frames] : keys.rows) {
    PutU8(out, kOpRowKeys);
    PutBytes(out, field);
    PutBytes(out, frames);
  }
  Encoder enc(out);
  static const PersistentMap<View> kNoViews;
  static const PersistentMap<BsiShard> kNoShards;
  for (const auto& [name, f] : next.fields) {
    const FieldState* b = base.FindField(name);
    if (b == f.get()) continue;
    enc.Select(name);
    if (f->bsi &&
        (b == nullptr || b->bsi->bit_depth() != f->bsi->bit_depth())) {
      enc.EnsureSelected();
      PutU8(out, kOpBitDepth);
      PutU8(out, uint8_t(f->bsi->bit_depth()));
    }
    enc.Views(b ? b->views : kNoViews, f->views);
    enc.Bsi(b ? b->bsi_shards : kNoShards, f->bsi_shards);
  }
  enc.Select("");
  enc.FragmentsOf(kIndexExistsView, &base.exists, next.exists);
  if (base.next_auto_id != next.next_auto_id ||
      base.column_key_deletes != next.column_key_deletes) {
    PutU8(out, kOpCounters);
    PutU64(out, next.next_auto_id);
    PutU64(out, next.column_key_deletes);
  }
  for (const auto& [source, offset] : next.stream_offsets) {
    auto it = base.stream_offsets.find(source);
    if (it != base.stream_offsets.end() && it->second == offset) continue;
    PutU8(out, kOpStreamOffset);
    PutBytes(out, source);
    PutI64(out, offset);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CommitVersion(std::string_view body,
                                       std::string_view file, uint64_t offset) {
  ByteReader r(body, file, offset);
  return r.U64("commit version");
}

namespace {

// `file` names the log file in errors (ByteReader's own errors name it too).
absl::StatusOr<Roaring32> ShardBits(ByteReader& r, std::string_view file,
                                    std::string_view what) {
  const uint64_t at = r.offset();
  FB_ASSIGN_OR_RETURN(Roaring32 bits, r.Bitmap(what));
  const std::optional<uint32_t> max = bits.Maximum();
  if (max && *max >= (uint32_t{1} << 20)) {
    return absl::DataLossError(
        fmt::format("{}: {} at offset {}: column offset {} beyond the shard",
                    file, what, at, *max));
  }
  return bits;
}

}  // namespace

absl::Status ApplyCommit(Txn& txn, std::string_view body, std::string_view file,
                         uint64_t offset) {
  ByteReader r(body, file, offset);
  FB_RETURN_IF_ERROR(r.U64("commit version").status());
  FieldState* field = nullptr;
  bool index_exists = false;
  bool selected = false;
  auto need_field = [&](std::string_view op) -> absl::Status {
    if (!selected) return r.Corrupt(fmt::format("{} before any field", op));
    if (field == nullptr && !index_exists)
      return r.Corrupt(fmt::format("{} on the index existence view", op));
    return absl::OkStatus();
  };
  while (!r.done()) {
    const uint64_t op_at = r.offset();
    FB_ASSIGN_OR_RETURN(const uint8_t op, r.U8("op"));
    switch (op) {
      case kOpCreateField: {
        FB_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("field name"));
        FB_ASSIGN_OR_RETURN(FieldOptions options, r.Options("field options"));
        if (txn.state().FindField(name) != nullptr)
          return r.Corrupt(fmt::format("field \"{}\" created twice", name));
        auto f = NewFieldState(name, options, txn.owner());
        if (!f.ok()) return r.Corrupt("bad field", f.status());
        txn.mutable_state()->fields.emplace(std::string(name), std::move(*f));
        break;
      }
      case kOpField: {
        FB_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("field name"));
        selected = true;
        index_exists = name.empty();
        field = nullptr;
        if (!index_exists) {
          field = txn.MutableField(name);
          if (field == nullptr)
            return r.Corrupt(fmt::format("unknown field \"{}\"", name));
        }
        break;
      }
      case kOpBitDepth: {
        FB_ASSIGN_OR_RETURN(const uint8_t depth, r.U8("bit depth"));
        FB_RETURN_IF_ERROR(need_field("bit depth"));
        if (field == nullptr || !field->bsi || depth > kBsiMaxDepth)
          return r.Corrupt("bad bit depth");
        field->bsi->GrowBitDepth(depth);
        break;
      }
      case kOpDropView: {
        FB_ASSIGN_OR_RETURN(const uint64_t view, r.U64("view"));
        FB_RETURN_IF_ERROR(need_field("drop view"));
        if (field == nullptr) return r.Corrupt("drop view without a field");
        field->views.Erase(txn.owner(), view);
        break;
      }
      case kOpFragment: {
        FB_ASSIGN_OR_RETURN(const uint64_t view, r.U64("view"));
        FB_ASSIGN_OR_RETURN(const uint64_t shard, r.U64("shard"));
        FB_ASSIGN_OR_RETURN(const uint32_t n, r.U32("row count"));
        FB_RETURN_IF_ERROR(need_field("fragment"));
        if (field != nullptr && field->bsi)
          return r.Corrupt("fragment op on a value field");
        if (shard > (UINT64_MAX >> 20)) return r.Corrupt("shard out of range");
        std::vector<Fragment::RowDiff> diffs;
        diffs.reserve(std::min<uint32_t>(n, 1 << 16));
        for (uint32_t i = 0; i < n; ++i) {
          Fragment::RowDiff d;
          FB_ASSIGN_OR_RETURN(d.row, r.U64("row id"));
          if (d.row > kMaxRowId || (field == nullptr && d.row != 0))
            return r.Corrupt(fmt::format("row id {} out of range", d.row));
          FB_ASSIGN_OR_RETURN(d.removed, ShardBits(r, file, "removed bits"));
          FB_ASSIGN_OR_RETURN(d.added, ShardBits(r, file, "added bits"));
          diffs.push_back(std::move(d));
        }
        Fragment* frag = field == nullptr
                             ? txn.MutableExists(shard)
                             : txn.MutableFragment(field, view, shard);
        frag->ApplyRowDiffs(txn.owner(), diffs);
        break;
      }
      case kOpBsiShard: {
        FB_ASSIGN_OR_RETURN(const uint64_t shard, r.U64("shard"));
        FB_ASSIGN_OR_RETURN(const uint8_t n, r.U8("row count"));
        FB_RETURN_IF_ERROR(need_field("value shard"));
        if (field == nullptr || !field->bsi)
          return r.Corrupt("value shard op on a non-value field");
        const BsiShard* old = field->bsi_shards.Find(shard);
        static const BsiShard kEmpty;
        if (old == nullptr) old = &kEmpty;
        std::vector<Roaring32> rows;
        for (int i = 0; i < 2 + old->depth(); ++i)
          rows.push_back(old->row(i)->Copy());
        for (uint8_t i = 0; i < n; ++i) {
          FB_ASSIGN_OR_RETURN(const uint8_t row, r.U8("value row"));
          if (row >= 2 + kBsiMaxDepth) return r.Corrupt("value row too high");
          FB_ASSIGN_OR_RETURN(Roaring32 removed,
                              ShardBits(r, file, "removed bits"));
          FB_ASSIGN_OR_RETURN(Roaring32 added,
                              ShardBits(r, file, "added bits"));
          while (rows.size() <= row) rows.emplace_back();
          rows[row].AndNotInPlace(removed);
          rows[row].OrInPlace(added);
        }
        while (rows.size() > 2 && rows.back().IsEmpty()) rows.pop_back();
        Roaring32 exists = std::move(rows[0]);
        Roaring32 sign = std::move(rows[1]);
        std::vector<Roaring32> planes;
        for (size_t i = 2; i < rows.size(); ++i)
          planes.push_back(std::move(rows[i]));
        auto built = BsiShard::FromRows(std::move(exists), std::move(sign),
                                        std::move(planes));
        if (!built.ok()) {
          return absl::DataLossError(
              fmt::format("{}: bad value shard at offset {}: {}", file, op_at,
                          Message(built.status())));
        }
        *field->bsi_shards.Mutate(txn.owner(), shard) = std::move(*built);
        break;
      }
      case kOpCounters: {
        FB_ASSIGN_OR_RETURN(const uint64_t next_id, r.U64("next auto id"));
        FB_ASSIGN_OR_RETURN(const uint64_t deletes, r.U64("key deletes"));
        txn.mutable_state()->next_auto_id = next_id;
        txn.mutable_state()->column_key_deletes = deletes;
        break;
      }
      case kOpStreamOffset: {
        FB_ASSIGN_OR_RETURN(std::string_view source, r.Bytes("stream source"));
        FB_ASSIGN_OR_RETURN(const int64_t pos, r.I64("stream offset"));
        txn.mutable_state()->stream_offsets[std::string(source)] = pos;
        break;
      }
      case kOpColumnKeys: {
        FB_ASSIGN_OR_RETURN(std::string_view frames, r.Bytes("key frames"));
        KeyTranslator* keys = txn.state().column_keys.get();
        if (keys == nullptr)
          return r.Corrupt("record keys on an unkeyed index");
        if (auto s = keys->ApplyLog(frames); !s.ok())
          return r.Corrupt("bad record key frames", s);
        break;
      }
      case kOpRowKeys: {
        FB_ASSIGN_OR_RETURN(std::string_view name, r.Bytes("field name"));
        FB_ASSIGN_OR_RETURN(std::string_view frames, r.Bytes("key frames"));
        const FieldState* f = txn.state().FindField(name);
        if (f == nullptr || !f->row_keys)
          return r.Corrupt(
              fmt::format("row keys of unkeyed field \"{}\"", name));
        if (auto s = f->row_keys->ApplyLog(frames); !s.ok())
          return r.Corrupt("bad row key frames", s);
        break;
      }
      default:
        return absl::DataLossError(
            fmt::format("{}: unknown op {} at offset {}", file, op, op_at));
    }
  }
  return absl::OkStatus();
}

}  // namespace featurebase::internal
