#include "featurebase/bitmap.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"
#include "lib/util/status_util.h"

namespace featurebase {

using internal::BitmapAccess;
using internal::BitmapChunk;
using internal::Roaring32;

namespace {

constexpr uint32_t kMagic = 0x4D424246;  // "FBBM" little-endian
constexpr uint16_t kVersion = 1;
constexpr size_t kHeaderSize = 24;
constexpr uint64_t kMaxKey = UINT64_MAX >> kShardWidthExponent;

uint64_t KeyOf(uint64_t v) { return v >> kShardWidthExponent; }

// Appends values arriving in ascending order, one shard at a time.
class SortedBuilder {
 public:
  void Push(uint64_t v) {
    const uint64_t key = KeyOf(v);
    if (key != key_ || pending_.empty()) {
      Flush();
      key_ = key;
    }
    pending_.push_back(OffsetInShard(v));
  }
  std::vector<BitmapChunk> Finish() {
    Flush();
    return std::move(chunks_);
  }

 private:
  void Flush() {
    if (pending_.empty()) return;
    if (!chunks_.empty() && chunks_.back().key == key_) {
      chunks_.back().bits.AddMany(pending_);
    } else {
      chunks_.push_back({key_, Roaring32::FromValues(pending_)});
    }
    pending_.clear();
  }
  uint64_t key_ = 0;
  std::vector<uint32_t> pending_;
  std::vector<BitmapChunk> chunks_;
};

// Merge-joins the sorted chunk lists of a and b, calling both(ca, cb) for
// shared keys, only_a(ca) and only_b(cb) for the rest, in key order.
template <typename Both, typename OnlyA, typename OnlyB>
void MergeJoin(std::span<const BitmapChunk> a, std::span<const BitmapChunk> b,
               Both&& both, OnlyA&& only_a, OnlyB&& only_b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].key < b[j].key) {
      only_a(a[i++]);
    } else if (b[j].key < a[i].key) {
      only_b(b[j++]);
    } else {
      both(a[i++], b[j++]);
    }
  }
  while (i < a.size()) only_a(a[i++]);
  while (j < b.size()) only_b(b[j++]);
}

void Skip(const BitmapChunk&) {}

}  // namespace

// ---------------------------------------------------------------- internal
// access

const Roaring32* BitmapAccess::Shard(const Bitmap& b, uint64_t shard) {
  auto chunks = Chunks(b);
  auto it = std::lower_bound(
      chunks.begin(), chunks.end(), shard,
      [](const BitmapChunk& c, uint64_t k) { return c.key < k; });
  if (it == chunks.end() || it->key != shard) return nullptr;
  return &it->bits;
}

Bitmap BitmapAccess::FromChunks(std::vector<BitmapChunk> chunks) {
  std::erase_if(chunks, [](const BitmapChunk& c) { return c.bits.IsEmpty(); });
  if (chunks.empty()) return Bitmap();
  if (!std::is_sorted(chunks.begin(), chunks.end(),
                      [](const BitmapChunk& x, const BitmapChunk& y) {
                        return x.key < y.key;
                      })) {
    std::sort(chunks.begin(), chunks.end(),
              [](const BitmapChunk& x, const BitmapChunk& y) {
                return x.key < y.key;
              });
  }
  auto rep = std::make_unique<Bitmap::Rep>();
  rep->chunks = std::move(chunks);
  return Bitmap(std::move(rep));
}

// ---------------------------------------------------------------- special
// members

Bitmap::Bitmap() noexcept = default;
Bitmap::~Bitmap() = default;
Bitmap::Bitmap(std::unique_ptr<Rep> rep) noexcept : rep_(std::move(rep)) {}
Bitmap::Bitmap(Bitmap&& other) noexcept = default;
Bitmap& Bitmap::operator=(Bitmap&& other) noexcept = default;

Bitmap::Bitmap(const Bitmap& other) {
  if (!other.rep_) return;
  rep_ = std::make_unique<Rep>();
  rep_->chunks.reserve(other.rep_->chunks.size());
  for (const auto& c : other.rep_->chunks)
    rep_->chunks.push_back({c.key, c.bits.Copy()});
}

Bitmap& Bitmap::operator=(const Bitmap& other) {
  if (this != &other) *this = Bitmap(other);
  return *this;
}

// ---------------------------------------------------------------- construction

Bitmap Bitmap::Of(std::initializer_list<uint64_t> values) {
  return FromValues(std::span<const uint64_t>(values.begin(), values.size()));
}

Bitmap Bitmap::FromValues(std::span<const uint64_t> values) {
  if (std::is_sorted(values.begin(), values.end())) {
    SortedBuilder builder;
    for (uint64_t v : values) builder.Push(v);
    return BitmapAccess::FromChunks(builder.Finish());
  }
  std::vector<uint64_t> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return FromValues(sorted);
}

Bitmap Bitmap::FromRange(uint64_t lo, uint64_t hi) {
  Bitmap b;
  b.AddRange(lo, hi);
  return b;
}

// ---------------------------------------------------------------- single
// values

bool Bitmap::Add(uint64_t v) {
  if (!rep_) rep_ = std::make_unique<Rep>();
  auto& chunks = rep_->chunks;
  const uint64_t key = KeyOf(v);
  auto it = std::lower_bound(
      chunks.begin(), chunks.end(), key,
      [](const BitmapChunk& c, uint64_t k) { return c.key < k; });
  if (it == chunks.end() || it->key != key)
    it = chunks.insert(it, {key, Roaring32()});
  return it->bits.Add(OffsetInShard(v));
}

bool Bitmap::Remove(uint64_t v) {
  if (!rep_) return false;
  auto& chunks = rep_->chunks;
  const uint64_t key = KeyOf(v);
  auto it = std::lower_bound(
      chunks.begin(), chunks.end(), key,
      [](const BitmapChunk& c, uint64_t k) { return c.key < k; });
  if (it == chunks.end() || it->key != key) return false;
  const bool changed = it->bits.Remove(OffsetInShard(v));
  if (it->bits.IsEmpty()) chunks.erase(it);
  if (chunks.empty()) rep_.reset();
  return changed;
}

bool Bitmap::Contains(uint64_t v) const {
  const Roaring32* r = BitmapAccess::Shard(*this, KeyOf(v));
  return r != nullptr && r->Contains(OffsetInShard(v));
}

void Bitmap::AddMany(std::span<const uint64_t> values) {
  if (values.empty()) return;
  *this |= FromValues(values);
}

void Bitmap::AddRange(uint64_t lo, uint64_t hi) {
  if (lo >= hi) return;
  std::vector<BitmapChunk> add;
  for (uint64_t key = KeyOf(lo); key <= KeyOf(hi - 1); ++key) {
    const uint64_t start = std::max(lo, ShardStart(key));
    const uint64_t end_incl =
        std::min(hi - 1, ShardStart(key) + kShardWidth - 1);
    add.push_back(
        {key, Roaring32::FromRange(OffsetInShard(start),
                                   uint64_t{OffsetInShard(end_incl)} + 1)});
    if (key == kMaxKey) break;
  }
  *this |= BitmapAccess::FromChunks(std::move(add));
}

void Bitmap::RemoveRange(uint64_t lo, uint64_t hi) {
  if (lo >= hi || !rep_) return;
  for (auto& c : rep_->chunks) {
    const uint64_t start = ShardStart(c.key);
    const uint64_t end_incl = start + (kShardWidth - 1);
    if (end_incl < lo || start >= hi) continue;
    const uint64_t from = std::max(lo, start) - start;
    const uint64_t to = std::min(hi - 1, end_incl) - start + 1;
    c.bits.RemoveRange(from, to);
  }
  std::erase_if(rep_->chunks,
                [](const BitmapChunk& c) { return c.bits.IsEmpty(); });
  if (rep_->chunks.empty()) rep_.reset();
}

uint64_t Bitmap::RangeCardinality(uint64_t lo, uint64_t hi) const {
  uint64_t n = 0;
  if (lo >= hi) return 0;
  for (const auto& c : BitmapAccess::Chunks(*this)) {
    const uint64_t start = ShardStart(c.key);
    const uint64_t end_incl = start + (kShardWidth - 1);
    if (end_incl < lo || start >= hi) continue;
    const uint64_t from = std::max(lo, start) - start;
    const uint64_t to = std::min(hi - 1, end_incl) - start + 1;
    n += c.bits.RangeCardinality(from, to);
  }
  return n;
}

void Bitmap::Clear() { rep_.reset(); }

// ---------------------------------------------------------------- queries

uint64_t Bitmap::Cardinality() const {
  uint64_t n = 0;
  for (const auto& c : BitmapAccess::Chunks(*this)) n += c.bits.Cardinality();
  return n;
}

bool Bitmap::IsEmpty() const { return !rep_; }

std::optional<uint64_t> Bitmap::Minimum() const {
  if (!rep_) return std::nullopt;
  const auto& c = rep_->chunks.front();
  return ShardStart(c.key) + *c.bits.Minimum();
}

std::optional<uint64_t> Bitmap::Maximum() const {
  if (!rep_) return std::nullopt;
  const auto& c = rep_->chunks.back();
  return ShardStart(c.key) + *c.bits.Maximum();
}

uint64_t Bitmap::Rank(uint64_t v) const {
  uint64_t n = 0;
  const uint64_t key = KeyOf(v);
  for (const auto& c : BitmapAccess::Chunks(*this)) {
    if (c.key < key) {
      n += c.bits.Cardinality();
    } else {
      if (c.key == key) n += c.bits.Rank(OffsetInShard(v));
      break;
    }
  }
  return n;
}

std::optional<uint64_t> Bitmap::Select(uint64_t rank) const {
  for (const auto& c : BitmapAccess::Chunks(*this)) {
    const uint64_t card = c.bits.Cardinality();
    if (rank < card) return ShardStart(c.key) + *c.bits.Select(rank);
    rank -= card;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- algebra

Bitmap operator&(const Bitmap& a, const Bitmap& b) {
  std::vector<BitmapChunk> out;
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        out.push_back({x.key, Roaring32::And(x.bits, y.bits)});
      },
      Skip, Skip);
  return BitmapAccess::FromChunks(std::move(out));
}

Bitmap operator|(const Bitmap& a, const Bitmap& b) {
  std::vector<BitmapChunk> out;
  auto copy = [&](const BitmapChunk& x) {
    out.push_back({x.key, x.bits.Copy()});
  };
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        out.push_back({x.key, Roaring32::Or(x.bits, y.bits)});
      },
      copy, copy);
  return BitmapAccess::FromChunks(std::move(out));
}

Bitmap operator-(const Bitmap& a, const Bitmap& b) {
  std::vector<BitmapChunk> out;
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        out.push_back({x.key, Roaring32::AndNot(x.bits, y.bits)});
      },
      [&](const BitmapChunk& x) {
        out.push_back({x.key, x.bits.Copy()});
      },
      Skip);
  return BitmapAccess::FromChunks(std::move(out));
}

Bitmap operator^(const Bitmap& a, const Bitmap& b) {
  std::vector<BitmapChunk> out;
  auto copy = [&](const BitmapChunk& x) {
    out.push_back({x.key, x.bits.Copy()});
  };
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        out.push_back({x.key, Roaring32::Xor(x.bits, y.bits)});
      },
      copy, copy);
  return BitmapAccess::FromChunks(std::move(out));
}

Bitmap& Bitmap::operator&=(const Bitmap& b) {
  if (!rep_) return *this;
  for (auto& c : rep_->chunks) {
    const Roaring32* other = BitmapAccess::Shard(b, c.key);
    if (other == nullptr) {
      c.bits.Clear();
    } else {
      c.bits.AndInPlace(*other);
    }
  }
  std::erase_if(rep_->chunks,
                [](const BitmapChunk& c) { return c.bits.IsEmpty(); });
  if (rep_->chunks.empty()) rep_.reset();
  return *this;
}

Bitmap& Bitmap::operator|=(const Bitmap& b) {
  if (b.IsEmpty()) return *this;
  if (!rep_) return *this = b;
  std::vector<BitmapChunk> merged;
  merged.reserve(rep_->chunks.size() + b.rep_->chunks.size());
  auto& mine = rep_->chunks;
  size_t i = 0;
  for (const auto& y : b.rep_->chunks) {
    while (i < mine.size() && mine[i].key < y.key)
      merged.push_back(std::move(mine[i++]));
    if (i < mine.size() && mine[i].key == y.key) {
      mine[i].bits.OrInPlace(y.bits);
      merged.push_back(std::move(mine[i++]));
    } else {
      merged.push_back({y.key, y.bits.Copy()});
    }
  }
  while (i < mine.size()) merged.push_back(std::move(mine[i++]));
  mine = std::move(merged);
  return *this;
}

Bitmap& Bitmap::operator-=(const Bitmap& b) {
  if (!rep_ || b.IsEmpty()) return *this;
  for (auto& c : rep_->chunks) {
    if (const Roaring32* other = BitmapAccess::Shard(b, c.key))
      c.bits.AndNotInPlace(*other);
  }
  std::erase_if(rep_->chunks,
                [](const BitmapChunk& c) { return c.bits.IsEmpty(); });
  if (rep_->chunks.empty()) rep_.reset();
  return *this;
}

Bitmap& Bitmap::operator^=(const Bitmap& b) {
  *this = *this ^ b;
  return *this;
}

Bitmap Bitmap::UnionMany(std::span<const Bitmap* const> inputs) {
  std::vector<const BitmapChunk*> all;
  for (const Bitmap* b : inputs) {
    for (const auto& c : BitmapAccess::Chunks(*b)) all.push_back(&c);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const BitmapChunk* x, const BitmapChunk* y) {
                     return x->key < y->key;
                   });
  std::vector<BitmapChunk> out;
  std::vector<const Roaring32*> group;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    group.clear();
    while (j < all.size() && all[j]->key == all[i]->key)
      group.push_back(&all[j++]->bits);
    out.push_back({all[i]->key, Roaring32::OrMany(group)});
    i = j;
  }
  return BitmapAccess::FromChunks(std::move(out));
}

uint64_t Bitmap::IntersectCount(const Bitmap& a, const Bitmap& b) {
  uint64_t n = 0;
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        n += Roaring32::AndCardinality(x.bits, y.bits);
      },
      Skip, Skip);
  return n;
}

uint64_t Bitmap::UnionCount(const Bitmap& a, const Bitmap& b) {
  uint64_t n = 0;
  auto card = [&](const BitmapChunk& x) { n += x.bits.Cardinality(); };
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        n += Roaring32::OrCardinality(x.bits, y.bits);
      },
      card, card);
  return n;
}

uint64_t Bitmap::DifferenceCount(const Bitmap& a, const Bitmap& b) {
  uint64_t n = 0;
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        n += Roaring32::AndNotCardinality(x.bits, y.bits);
      },
      [&](const BitmapChunk& x) { n += x.bits.Cardinality(); }, Skip);
  return n;
}

uint64_t Bitmap::XorCount(const Bitmap& a, const Bitmap& b) {
  uint64_t n = 0;
  auto card = [&](const BitmapChunk& x) { n += x.bits.Cardinality(); };
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        n += Roaring32::XorCardinality(x.bits, y.bits);
      },
      card, card);
  return n;
}

bool Bitmap::Intersects(const Bitmap& a, const Bitmap& b) {
  bool hit = false;
  MergeJoin(
      BitmapAccess::Chunks(a), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        hit = hit || Roaring32::Intersects(x.bits, y.bits);
      },
      Skip, Skip);
  return hit;
}

bool Bitmap::IsSubsetOf(const Bitmap& b) const {
  bool subset = true;
  MergeJoin(
      BitmapAccess::Chunks(*this), BitmapAccess::Chunks(b),
      [&](const BitmapChunk& x, const BitmapChunk& y) {
        subset = subset && x.bits.IsSubsetOf(y.bits);
      },
      [&](const BitmapChunk&) { subset = false; }, Skip);
  return subset;
}

bool operator==(const Bitmap& a, const Bitmap& b) {
  auto x = BitmapAccess::Chunks(a);
  auto y = BitmapAccess::Chunks(b);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].key != y[i].key || !x[i].bits.Equals(y[i].bits)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- shift,
// slice, iteration

Bitmap Bitmap::Shift(uint64_t n) const {
  if (n == 0) return *this;
  if (OffsetInShard(n) == 0) {
    // Whole shards: re-key the chunks.
    const uint64_t dk = KeyOf(n);
    std::vector<BitmapChunk> out;
    for (const auto& c : BitmapAccess::Chunks(*this)) {
      if (c.key > kMaxKey - dk) break;
      out.push_back({c.key + dk, c.bits.Copy()});
    }
    return BitmapAccess::FromChunks(std::move(out));
  }
  SortedBuilder builder;
  ForEach([&](uint64_t v) {
    if (v <= UINT64_MAX - n) builder.Push(v + n);
  });
  return BitmapAccess::FromChunks(builder.Finish());
}

Bitmap Bitmap::Slice(uint64_t offset, uint64_t limit) const {
  std::vector<BitmapChunk> out;
  for (const auto& c : BitmapAccess::Chunks(*this)) {
    if (limit == 0) break;
    const uint64_t card = c.bits.Cardinality();
    if (offset >= card) {
      offset -= card;
      continue;
    }
    const uint64_t lo = *c.bits.Select(offset);
    const uint64_t take = std::min(limit, card - offset);
    const uint64_t hi =
        offset + take < card ? *c.bits.Select(offset + take) : kShardWidth;
    Roaring32 part = c.bits.Copy();
    part.RemoveRange(0, lo);
    part.RemoveRange(hi, kShardWidth);
    out.push_back({c.key, std::move(part)});
    offset = 0;
    limit -= take;
  }
  return BitmapAccess::FromChunks(std::move(out));
}

std::vector<uint64_t> Bitmap::ToVector() const {
  std::vector<uint64_t> out;
  out.reserve(Cardinality());
  std::vector<uint32_t> offsets;
  for (const auto& c : BitmapAccess::Chunks(*this)) {
    offsets.clear();
    c.bits.AppendTo(&offsets);
    const uint64_t base = ShardStart(c.key);
    for (uint32_t o : offsets) out.push_back(base + o);
  }
  return out;
}

size_t Bitmap::ReadBlock(size_t* chunk, uint64_t* resume, uint64_t* buf,
                         size_t cap) const {
  auto chunks = BitmapAccess::Chunks(*this);
  size_t filled = 0;
  uint32_t offsets[256];
  while (filled < cap && *chunk < chunks.size()) {
    const auto& c = chunks[*chunk];
    Roaring32::Reader reader(c.bits);
    if (*resume > 0) reader.SeekGE(uint32_t(*resume));
    const size_t want = std::min<size_t>(cap - filled, 256);
    const size_t got = reader.Next(offsets, want);
    const uint64_t base = ShardStart(c.key);
    for (size_t i = 0; i < got; ++i) buf[filled + i] = base + offsets[i];
    filled += got;
    if (got < want ||
        (got > 0 && uint64_t{offsets[got - 1]} + 1 >= kShardWidth)) {
      ++*chunk;
      *resume = 0;
    } else if (got > 0) {
      *resume = uint64_t{offsets[got - 1]} + 1;
    }
  }
  return filled;
}

// ---------------------------------------------------------------- memory

void Bitmap::Optimize() {
  if (!rep_) return;
  for (auto& c : rep_->chunks) {
    c.bits.RunOptimize();
    c.bits.ShrinkToFit();
  }
}

size_t Bitmap::MemoryBytes() const {
  size_t n = 0;
  for (const auto& c : BitmapAccess::Chunks(*this))
    n += sizeof(BitmapChunk) + c.bits.MemoryBytes();
  return n;
}

// ----------------------------------------------------------------
// serialization

size_t Bitmap::SerializedSize() const {
  size_t n = kHeaderSize + 8;
  for (const auto& c : BitmapAccess::Chunks(*this))
    n += 12 + c.bits.PortableSize();
  return n;
}

std::string Bitmap::Serialize() const {
  std::string out;
  out.reserve(SerializedSize());
  out.resize(kHeaderSize);
  auto chunks = BitmapAccess::Chunks(*this);
  internal::PutFixed<uint64_t>(&out, chunks.size());
  for (const auto& c : chunks) {
    internal::PutFixed<uint64_t>(&out, c.key);
    const size_t len_at = out.size();
    internal::PutFixed<uint32_t>(&out, 0);
    c.bits.AppendPortable(&out);
    const uint32_t len = uint32_t(out.size() - len_at - 4);
    std::memcpy(out.data() + len_at, &len, 4);
  }
  const std::string_view body(out.data() + kHeaderSize,
                              out.size() - kHeaderSize);
  std::string header;
  internal::PutFixed<uint32_t>(&header, kMagic);
  internal::PutFixed<uint16_t>(&header, kVersion);
  internal::PutFixed<uint16_t>(&header, 0);
  internal::PutFixed<uint64_t>(&header, body.size());
  internal::PutFixed<uint64_t>(&header, internal::Checksum64(body));
  std::memcpy(out.data(), header.data(), kHeaderSize);
  return out;
}

StatusOr<Bitmap> Bitmap::Deserialize(std::string_view bytes) {
  using internal::LoadFixed;
  auto truncated = [](size_t at, size_t need, size_t have) {
    return absl::DataLossError(
        fmt::format("decode bitmap: truncated at offset {} (need {}, have {})",
                    at, need, have));
  };
  if (bytes.size() < kHeaderSize)
    return truncated(0, kHeaderSize, bytes.size());
  const char* p = bytes.data();
  if (LoadFixed<uint32_t>(p) != kMagic) {
    return absl::DataLossError(
        fmt::format("decode bitmap: bad magic {:#010x} at offset 0",
                    LoadFixed<uint32_t>(p)));
  }
  if (LoadFixed<uint16_t>(p + 4) != kVersion ||
      LoadFixed<uint16_t>(p + 6) != 0) {
    return absl::DataLossError(fmt::format(
        "decode bitmap: unsupported version {} flags {} at offset 4",
        LoadFixed<uint16_t>(p + 4), LoadFixed<uint16_t>(p + 6)));
  }
  const uint64_t body_len = LoadFixed<uint64_t>(p + 8);
  const size_t have = bytes.size() - kHeaderSize;
  if (body_len > have) return truncated(kHeaderSize, body_len, have);
  if (body_len < have) {
    return absl::DataLossError(
        fmt::format("decode bitmap: {} trailing bytes at offset {}",
                    have - body_len, kHeaderSize + body_len));
  }
  const std::string_view body = bytes.substr(kHeaderSize);
  if (internal::Checksum64(body) != LoadFixed<uint64_t>(p + 16)) {
    return absl::DataLossError("decode bitmap: checksum mismatch at offset 16");
  }
  size_t pos = kHeaderSize;
  if (bytes.size() - pos < 8) return truncated(pos, 8, bytes.size() - pos);
  const uint64_t count = LoadFixed<uint64_t>(p + pos);
  pos += 8;
  if (count > (bytes.size() - pos) / 12) {
    return absl::DataLossError(fmt::format(
        "decode bitmap: chunk count {} too large for {} bytes at offset {}",
        count, bytes.size(), kHeaderSize));
  }
  std::vector<BitmapChunk> chunks;
  chunks.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (bytes.size() - pos < 12) return truncated(pos, 12, bytes.size() - pos);
    const uint64_t key = LoadFixed<uint64_t>(p + pos);
    const uint32_t len = LoadFixed<uint32_t>(p + pos + 8);
    if (key > kMaxKey || (!chunks.empty() && key <= chunks.back().key)) {
      return absl::DataLossError(fmt::format(
          "decode bitmap: shard {} out of order or out of range at offset {}",
          key, pos));
    }
    pos += 12;
    if (bytes.size() - pos < len)
      return truncated(pos, len, bytes.size() - pos);
    auto bits = Roaring32::DecodePortable(bytes.substr(pos, len),
                                          uint32_t(kShardWidth - 1));
    if (!bits.ok()) {
      return internal::Annotate(
          bits.status(),
          fmt::format("decode bitmap: shard {} at offset {}", key, pos));
    }
    if (bits->IsEmpty()) {
      return absl::DataLossError(
          fmt::format("decode bitmap: empty shard {} at offset {}", key, pos));
    }
    chunks.push_back({key, std::move(*bits)});
    pos += len;
  }
  if (pos != bytes.size()) {
    return absl::DataLossError(
        fmt::format("decode bitmap: {} unused bytes at offset {}",
                    bytes.size() - pos, pos));
  }
  return BitmapAccess::FromChunks(std::move(chunks));
}

}  // namespace featurebase
