#include "lib/bsi/bsi_shard.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>

#include "absl/status/status.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/packed_roaring32.h"
#include "lib/util/endian.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {
namespace {

using uint128 = unsigned __int128;

constexpr uint64_t kAllOnes = ~uint64_t{0};
constexpr uint8_t kFormatVersion = 1;

// Largest magnitude `d` planes can hold: 2^d - 1.
uint64_t MaxMagnitude(int d) {
  return d >= 64 ? kAllOnes : (uint64_t{1} << d) - 1;
}
bool Bit(uint64_t u, int i) { return ((u >> i) & 1) != 0; }
int BitWidth(uint64_t u) { return int(std::bit_width(u)); }

// |v| without overflow (|INT64_MIN| = 2^63).
uint64_t Magnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - uint64_t(v) : uint64_t(v);
}
// -m as an int64; m <= 2^63.
int64_t Negated(uint64_t m) { return int64_t(uint64_t{0} - m); }

const BsiShard::Row& EmptyRow() {
  static const auto* row =
      new BsiShard::Row(std::make_shared<const Roaring32>());
  return *row;
}

// A new row. The Roaring32 itself is not const, so that PackPlanes may move
// it into a PackedRoaring32 while it is still the only reference.
BsiShard::Row MakeRow(Roaring32 r) {
  if (r.IsEmpty()) return EmptyRow();
  return std::make_shared<Roaring32>(std::move(r));
}

// Moves `planes` into one PackedRoaring32 (each plane's containers for one
// key adjacent, so that Sum, Min and Max read a key of every plane as one
// stream rather than a jump per plane), when every non-empty plane is new:
// made by MakeRow for this shard version and referenced nowhere else. A
// plane shared with `base` leaves them all as they are, so that a version
// holds planes of at most one pack, and untouched rows stay shared (the
// storage layer diffs rows by identity). Memory cost: a pack stays alive
// while any version shares one of its planes, at most one extra copy of a
// shard's planes.
void PackPlanes(const BsiShard& base, std::vector<BsiShard::Row>* planes) {
  std::vector<size_t> fresh;
  for (size_t i = 0; i < planes->size(); ++i) {
    const BsiShard::Row& p = (*planes)[i];
    if (p == EmptyRow()) continue;
    if (p == base.row(2 + int(i)) || p.use_count() != 1) return;
    fresh.push_back(i);
  }
  if (fresh.size() < 2) return;
  std::vector<Roaring32> rows;
  rows.reserve(fresh.size());
  for (size_t i : fresh) {
    // Defined: MakeRow made a non-const Roaring32, and this is its only
    // reference.
    rows.push_back(std::move(const_cast<Roaring32&>(*(*planes)[i])));
  }
  std::shared_ptr<const PackedRoaring32> pack =
      PackedRoaring32::Pack(std::move(rows));
  for (size_t k = 0; k < fresh.size(); ++k) {
    (*planes)[fresh[k]] = BsiShard::Row(pack, &pack->row(k));
  }
}

// Collects matches either as a bitmap or as a count. When counting, every
// part added must be disjoint from the others.
class Matches {
 public:
  explicit Matches(bool count_only) : count_only_(count_only) {}

  // Adds a ∩ b.
  void AddAnd(const Roaring32& a, const Roaring32& b) {
    if (count_only_) {
      count_ += Roaring32::AndCardinality(a, b);
    } else {
      Merge(Roaring32::And(a, b));
    }
  }
  // Adds a − b.
  void AddAndNot(const Roaring32& a, const Roaring32& b) {
    if (count_only_) {
      count_ += Roaring32::AndNotCardinality(a, b);
    } else {
      Merge(Roaring32::AndNot(a, b));
    }
  }
  void AddSet(Roaring32 s) {
    if (count_only_) {
      count_ += s.Cardinality();
    } else {
      Merge(std::move(s));
    }
  }

  uint64_t count() const { return count_; }
  Roaring32 TakeBits() { return std::move(bits_); }

 private:
  void Merge(Roaring32 s) {
    if (bits_.IsEmpty()) {
      bits_ = std::move(s);
    } else if (!s.IsEmpty()) {
      bits_.OrInPlace(s);
    }
  }

  bool count_only_;
  uint64_t count_ = 0;
  Roaring32 bits_;
};

// The unsigned kernels of FeatureBase's fragment.go, over the magnitude
// planes of a shard limited to depth `d`. Each takes the candidate set by
// value and shrinks it in place. Unlike FeatureBase, the candidate set also
// drops the columns already matched, so that the parts handed to Matches are
// disjoint (fused counts add up) and later planes see fewer columns.
class Kernels {
 public:
  explicit Kernels(const BsiShard& s) : s_(s) {}

  // Columns of `set` whose magnitude equals u.
  Roaring32 EqUnsigned(Roaring32 set, uint64_t u, int d) const {
    if (BitWidth(u) > d) return Roaring32();
    for (int i = d - 1; i >= 0 && !set.IsEmpty(); --i) {
      if (Bit(u, i)) {
        set.AndInPlace(s_.Plane(i));
      } else {
        set.AndNotInPlace(s_.Plane(i));
      }
    }
    return set;
  }

  // Columns of `set` with magnitude < u (<= u if eq): rangeLTUnsigned.
  void LtUnsigned(Roaring32 set, uint64_t u, bool eq, int d,
                  Matches* out) const {
    const uint64_t max = MaxMagnitude(d);
    if (BitWidth(u) > d || (u == max && eq)) {
      out->AddSet(std::move(set));
      return;
    }
    if (u == max) {
      // Everything but the all-ones magnitude.
      Roaring32 ones = set.Copy();
      for (int i = 0; i < d && !ones.IsEmpty(); ++i) {
        ones.AndInPlace(s_.Plane(i));
      }
      set.AndNotInPlace(ones);
      out->AddSet(std::move(set));
      return;
    }
    if (eq) ++u;  // u < max: no overflow
    for (int i = d - 1; i >= 0 && u > 0 && !set.IsEmpty(); --i) {
      const Roaring32& plane = s_.Plane(i);
      if (Bit(u, i)) {
        // A zero where u has a one: smaller, whatever follows.
        out->AddAndNot(set, plane);
        u &= ~(uint64_t{1} << i);
        if (u == 0) break;
        set.AndInPlace(plane);
      } else {
        set.AndNotInPlace(plane);
      }
    }
  }

  // Columns of `set` with magnitude > u (>= u if eq): rangeGTUnsigned.
  void GtUnsigned(Roaring32 set, uint64_t u, bool eq, int d,
                  Matches* out) const {
    if (eq) {
      if (u == 0) {
        out->AddSet(std::move(set));
        return;
      }
      --u;
    }
    if (u == 0) {
      // Everything but magnitude zero.
      Roaring32 zeros = set.Copy();
      for (int i = 0; i < d && !zeros.IsEmpty(); ++i) {
        zeros.AndNotInPlace(s_.Plane(i));
      }
      set.AndNotInPlace(zeros);
      out->AddSet(std::move(set));
      return;
    }
    if (BitWidth(u) > d) return;  // nothing is bigger
    if (d < 64) u |= kAllOnes << d;
    for (int i = d - 1; i >= 0 && u != kAllOnes && !set.IsEmpty(); --i) {
      const Roaring32& plane = s_.Plane(i);
      if (Bit(u, i)) {
        set.AndInPlace(plane);
      } else {
        // A one where u has a zero: bigger, whatever follows.
        out->AddAnd(set, plane);
        u |= uint64_t{1} << i;
        if (u == kAllOnes) break;
        set.AndNotInPlace(plane);
      }
    }
  }

  // Columns of `set` with lo <= magnitude <= hi, lo < hi:
  // rangeBetweenUnsigned.
  void BetweenUnsigned(Roaring32 set, uint64_t lo, uint64_t hi, int d,
                       Matches* out) const {
    if (hi > MaxMagnitude(d)) {
      GtUnsigned(std::move(set), lo, true, d, out);
      return;
    }
    if (lo == 0) {
      LtUnsigned(std::move(set), hi, true, d, out);
      return;
    }
    // The bits above the highest differing bit must equal lo's (= hi's).
    const int diff = BitWidth(lo ^ hi);
    for (int i = d - 1; i >= diff && !set.IsEmpty(); --i) {
      if (Bit(lo, i)) {
        set.AndInPlace(s_.Plane(i));
      } else {
        set.AndNotInPlace(s_.Plane(i));
      }
    }
    const uint64_t low = MaxMagnitude(diff);
    Matches at_least_lo(false);
    GtUnsigned(std::move(set), lo & low, true, diff, &at_least_lo);
    LtUnsigned(at_least_lo.TakeBits(), hi & low, true, diff, out);
  }

 private:
  const BsiShard& s_;
};

// The columns with a value within `filter`, split by sign.
struct Signed {
  Roaring32 pos;  // stored value >= 0
  Roaring32 neg;  // stored value < 0
};

}  // namespace

int BsiDepthOf(int64_t stored) { return BitWidth(Magnitude(stored)); }

BsiShard::BsiShard() : exists_(EmptyRow()), sign_(EmptyRow()) {}

const BsiShard::Row& BsiShard::row(int r) const {
  if (r == 0) return exists_;
  if (r == 1) return sign_;
  if (r >= 2 && r - 2 < depth()) return planes_[r - 2];
  return EmptyRow();
}

const Roaring32& BsiShard::Plane(int i) const {
  if (i >= 0 && i < depth()) return *planes_[i];
  return *EmptyRow();
}

namespace {

// `old` minus `touched` plus `adds`; `old` itself when nothing changes.
BsiShard::Row Rewrite(const BsiShard::Row& old, const Roaring32& touched,
                      std::span<const uint32_t> adds) {
  const bool hit = Roaring32::Intersects(*old, touched);
  if (!hit && adds.empty()) return old;
  Roaring32 r = hit ? Roaring32::AndNot(*old, touched) : old->Copy();
  r.AddMany(adds);
  r.RunOptimize();
  return MakeRow(std::move(r));
}

// `old` minus `touched` plus `built`; `old` itself when nothing changes.
BsiShard::Row RewriteWith(const BsiShard::Row& old, const Roaring32& touched,
                          Roaring32 built) {
  const bool hit = Roaring32::Intersects(*old, touched);
  if (!hit && built.IsEmpty()) return old;
  Roaring32 r;
  if (hit) {
    r = Roaring32::AndNot(*old, touched);
    r.OrInPlace(built);
  } else if (old->IsEmpty()) {
    r = std::move(built);
  } else {
    r = old->Copy();
    r.OrInPlace(built);
  }
  r.RunOptimize();
  return MakeRow(std::move(r));
}

// Offsets per 2^16-column block above which Apply fills bitset blocks of
// every row directly instead of collecting offsets per plane.
constexpr size_t kDenseBlock = 2048;

// The rows of `sets` (sorted, unique offsets) built block by block: each
// value sets its bits in one 1024-word block per row (exists, sign, planes),
// then the blocks become containers, with no per-plane offset lists.
struct DenseRows {
  Roaring32 exists, sign;
  std::vector<Roaring32> planes;
};

DenseRows BuildDense(std::span<const std::pair<uint32_t, int64_t>> sets,
                     int depth) {
  constexpr size_t kWords = 1024;
  DenseRows out;
  out.planes.resize(depth);
  const size_t n_rows = 2 + size_t(depth);
  std::vector<uint64_t> words(n_rows * kWords);
  for (size_t i = 0; i < sets.size();) {
    const uint32_t key = sets[i].first >> 16;
    std::fill(words.begin(), words.end(), uint64_t{0});
    uint64_t* exists = words.data();
    uint64_t* sign = exists + kWords;
    uint64_t* planes = sign + kWords;
    // One word of every row at a time, in registers and a small stack
    // array: the rows' blocks sit 8 KiB apart, so or-ing each bit into them
    // directly would keep evicting one L1 set.
    while (i < sets.size() && sets[i].first >> 16 == key) {
      const uint32_t w = (sets[i].first & 0xFFFF) >> 6;
      uint64_t ex = 0, neg = 0;
      uint64_t acc[kBsiMaxDepth] = {};
      for (; i < sets.size() && sets[i].first >> 6 == (key << 10 | w); ++i) {
        const uint64_t bit = uint64_t{1} << (sets[i].first & 63);
        ex |= bit;
        if (sets[i].second < 0) neg |= bit;
        for (uint64_t m = Magnitude(sets[i].second); m != 0; m &= m - 1) {
          acc[std::countr_zero(m)] |= bit;
        }
      }
      exists[w] = ex;
      sign[w] = neg;
      for (int p = 0; p < depth; ++p) planes[p * kWords + w] = acc[p];
    }
    out.exists.AppendBlock(uint16_t(key), exists);
    out.sign.AppendBlock(uint16_t(key), sign);
    for (int p = 0; p < depth; ++p) {
      out.planes[p].AppendBlock(uint16_t(key), planes + p * kWords);
    }
  }
  return out;
}

}  // namespace

BsiShard BsiShard::Apply(const BsiShard& base,
                         std::span<const std::pair<uint32_t, int64_t>> sets,
                         const Roaring32* clears) {
  // Callers pass sorted unique offsets; anything else is normalized here
  // (sorted, the last value of a repeated offset wins) rather than
  // corrupting planes with two values' bits.
  std::vector<std::pair<uint32_t, int64_t>> normalized;
  for (size_t i = 1; i < sets.size(); ++i) {
    if (sets[i - 1].first >= sets[i].first) {
      normalized.assign(sets.begin(), sets.end());
      std::stable_sort(
          normalized.begin(), normalized.end(),
          [](const auto& a, const auto& b) { return a.first < b.first; });
      size_t out = 0;
      for (size_t j = 0; j < normalized.size(); ++j) {
        if (out > 0 && normalized[out - 1].first == normalized[j].first) {
          normalized[out - 1] = normalized[j];
        } else {
          normalized[out++] = normalized[j];
        }
      }
      normalized.resize(out);
      sets = normalized;
      break;
    }
  }
  // Dense writes (a batch filling its shards) build whole blocks.
  size_t blocks = 0;
  for (size_t i = 0; i < sets.size(); ++i) {
    blocks += i == 0 || (sets[i].first >> 16) != (sets[i - 1].first >> 16);
  }
  if (blocks > 0 && sets.size() >= blocks * kDenseBlock) {
    int need = 0;
    for (const auto& [offset, stored] : sets) {
      assert(offset < kShardWidth);
      need = std::max(need, BsiDepthOf(stored));
    }
    DenseRows rows = BuildDense(sets, need);
    Roaring32 touched = rows.exists.Copy();
    if (clears != nullptr) touched.OrInPlace(*clears);
    BsiShard out;
    out.exists_ = RewriteWith(base.exists_, touched, std::move(rows.exists));
    out.sign_ = RewriteWith(base.sign_, touched, std::move(rows.sign));
    const int depth = std::max(base.depth(), need);
    out.planes_.resize(depth);
    for (int i = 0; i < depth; ++i) {
      out.planes_[i] =
          RewriteWith(base.row(2 + i), touched,
                      i < need ? std::move(rows.planes[i]) : Roaring32());
    }
    while (!out.planes_.empty() && out.planes_.back()->IsEmpty()) {
      out.planes_.pop_back();
    }
    PackPlanes(base, &out.planes_);
    return out;
  }
  std::vector<uint32_t> offsets;
  std::vector<uint32_t> negatives;
  std::array<std::vector<uint32_t>, kBsiMaxDepth> plane_adds;
  offsets.reserve(sets.size());
  int need = 0;
  for (const auto& [offset, stored] : sets) {
    assert(offset < kShardWidth);
    offsets.push_back(offset);
    if (stored < 0) negatives.push_back(offset);
    uint64_t m = Magnitude(stored);
    need = std::max(need, BitWidth(m));
    for (; m != 0; m &= m - 1) {
      plane_adds[std::countr_zero(m)].push_back(offset);
    }
  }
  Roaring32 touched = Roaring32::FromValues(offsets);
  if (clears != nullptr) touched.OrInPlace(*clears);

  BsiShard out;
  out.exists_ = Rewrite(base.exists_, touched, offsets);
  out.sign_ = Rewrite(base.sign_, touched, negatives);
  const int depth = std::max(base.depth(), need);
  out.planes_.resize(depth);
  for (int i = 0; i < depth; ++i) {
    out.planes_[i] = Rewrite(base.row(2 + i), touched, plane_adds[i]);
  }
  while (!out.planes_.empty() && out.planes_.back()->IsEmpty()) {
    out.planes_.pop_back();
  }
  PackPlanes(base, &out.planes_);
  return out;
}

absl::StatusOr<BsiShard> BsiShard::FromRows(Roaring32 exists, Roaring32 sign,
                                            std::vector<Roaring32> planes) {
  if (planes.size() > size_t(kBsiMaxDepth)) {
    return absl::InvalidArgumentError(fmt::format(
        "bsi shard: {} planes, at most {}", planes.size(), kBsiMaxDepth));
  }
  if (auto max = exists.Maximum(); max && *max >= kShardWidth) {
    return absl::InvalidArgumentError(
        fmt::format("bsi shard: offset {} is not below 2^20", *max));
  }
  if (Roaring32::AndNotCardinality(sign, exists) != 0) {
    return absl::InvalidArgumentError(
        "bsi shard: sign row has columns without a value");
  }
  // One union and one difference count instead of a subset test per plane
  // (CRoaring 0.2.66's bitset-in-run subset test is slow, and this runs on
  // every checkpoint load); the per-plane test only names the culprit.
  std::vector<const Roaring32*> ptrs;
  for (const Roaring32& p : planes) ptrs.push_back(&p);
  const Roaring32 magnitude = Roaring32::OrMany(ptrs);
  if (Roaring32::AndNotCardinality(magnitude, exists) != 0) {
    for (size_t i = 0; i < planes.size(); ++i) {
      if (Roaring32::AndNotCardinality(planes[i], exists) != 0) {
        return absl::InvalidArgumentError(
            fmt::format("bsi shard: plane {} has columns without a value", i));
      }
    }
  }
  if (!sign.IsEmpty() && Roaring32::AndNotCardinality(sign, magnitude) != 0) {
    return absl::InvalidArgumentError(
        "bsi shard: negative sign on a zero magnitude");
  }
  while (!planes.empty() && planes.back().IsEmpty()) planes.pop_back();
  BsiShard out;
  out.exists_ = MakeRow(std::move(exists));
  out.sign_ = MakeRow(std::move(sign));
  for (Roaring32& p : planes) out.planes_.push_back(MakeRow(std::move(p)));
  PackPlanes(BsiShard(), &out.planes_);
  return out;
}

std::optional<int64_t> BsiShard::Value(uint32_t offset) const {
  if (!exists_->Contains(offset)) return std::nullopt;
  uint64_t m = 0;
  for (int i = 0; i < depth(); ++i) {
    if (planes_[i]->Contains(offset)) m |= uint64_t{1} << i;
  }
  return sign_->Contains(offset) ? Negated(m) : int64_t(m);
}

namespace {

Roaring32 Consider(const Roaring32& exists, const Roaring32* filter) {
  return filter != nullptr ? Roaring32::And(*filter, exists) : exists.Copy();
}

Signed SplitSigns(const Roaring32& exists, const Roaring32& sign,
                  const Roaring32* filter) {
  Signed s;
  s.pos = Consider(exists, filter);
  if (Roaring32::Intersects(s.pos, sign)) {
    s.neg = Roaring32::And(s.pos, sign);
    s.pos.AndNotInPlace(sign);
  }
  return s;
}

// The signed predicates (fragment.go rangeEQ, rangeLT, rangeGT,
// rangeBetween) on top of the unsigned kernels.
void Eq(const BsiShard& s, int64_t p, const Roaring32* filter, Matches* out) {
  Signed sp = SplitSigns(s.Exists(), s.Sign(), filter);
  out->AddSet(Kernels(s).EqUnsigned(
      p < 0 ? std::move(sp.neg) : std::move(sp.pos), Magnitude(p), s.depth()));
}

void Lt(const BsiShard& s, int64_t p, bool eq, const Roaring32* filter,
        Matches* out) {
  if (p == 1 && !eq) {
    p = 0;
    eq = true;
  }
  const Kernels k(s);
  const int d = s.depth();
  Signed sp = SplitSigns(s.Exists(), s.Sign(), filter);
  if (p == 0) {
    out->AddSet(std::move(sp.neg));
    if (eq) out->AddSet(k.EqUnsigned(std::move(sp.pos), 0, d));
  } else if (p < 0) {
    k.GtUnsigned(std::move(sp.neg), Magnitude(p), eq, d, out);
  } else {
    k.LtUnsigned(std::move(sp.pos), uint64_t(p), eq, d, out);
    out->AddSet(std::move(sp.neg));
  }
}

void Gt(const BsiShard& s, int64_t p, bool eq, const Roaring32* filter,
        Matches* out) {
  if (p == -1 && !eq) {
    p = 0;
    eq = true;
  }
  const Kernels k(s);
  const int d = s.depth();
  Signed sp = SplitSigns(s.Exists(), s.Sign(), filter);
  if (p >= 0) {
    k.GtUnsigned(std::move(sp.pos), uint64_t(p), eq, d, out);
  } else {
    out->AddSet(std::move(sp.pos));
    k.LtUnsigned(std::move(sp.neg), Magnitude(p), eq, d, out);
  }
}

void RangeInto(const BsiShard& s, BsiOp op, int64_t p, const Roaring32* filter,
               Matches* out) {
  switch (op) {
    case BsiOp::kEq:
      Eq(s, p, filter, out);
      return;
    case BsiOp::kNeq: {
      Roaring32 all = Consider(s.Exists(), filter);
      Matches eq(false);
      Eq(s, p, filter, &eq);
      all.AndNotInPlace(eq.TakeBits());
      out->AddSet(std::move(all));
      return;
    }
    case BsiOp::kLt:
    case BsiOp::kLte:
      Lt(s, p, op == BsiOp::kLte, filter, out);
      return;
    case BsiOp::kGt:
    case BsiOp::kGte:
      Gt(s, p, op == BsiOp::kGte, filter, out);
      return;
  }
}

}  // namespace

Roaring32 BsiShard::NotNull(const Roaring32* filter) const {
  return Consider(*exists_, filter);
}

uint64_t BsiShard::CountNotNull(const Roaring32* filter) const {
  return filter != nullptr ? Roaring32::AndCardinality(*filter, *exists_)
                           : exists_->Cardinality();
}

Roaring32 BsiShard::Range(BsiOp op, int64_t predicate,
                          const Roaring32* filter) const {
  Matches m(false);
  RangeInto(*this, op, predicate, filter, &m);
  return m.TakeBits();
}

uint64_t BsiShard::CountRange(BsiOp op, int64_t predicate,
                              const Roaring32* filter) const {
  if (op == BsiOp::kEq || op == BsiOp::kNeq) {
    Matches eq(true);
    Eq(*this, predicate, filter, &eq);
    return op == BsiOp::kEq ? eq.count() : CountNotNull(filter) - eq.count();
  }
  Matches m(true);
  RangeInto(*this, op, predicate, filter, &m);
  return m.count();
}

Roaring32 BsiShard::Between(int64_t lo, int64_t hi,
                            const Roaring32* filter) const {
  if (lo > hi) return Roaring32();
  if (lo == hi) return Range(BsiOp::kEq, lo, filter);
  const Kernels k(*this);
  const int d = depth();
  Signed sp = SplitSigns(*exists_, *sign_, filter);
  Matches m(false);
  if (lo >= 0) {
    k.BetweenUnsigned(std::move(sp.pos), uint64_t(lo), uint64_t(hi), d, &m);
  } else if (hi < 0) {
    k.BetweenUnsigned(std::move(sp.neg), Magnitude(hi), Magnitude(lo), d, &m);
  } else {
    k.LtUnsigned(std::move(sp.pos), uint64_t(hi), true, d, &m);
    k.LtUnsigned(std::move(sp.neg), Magnitude(lo), true, d, &m);
  }
  return m.TakeBits();
}

BsiSum BsiShard::Sum(const Roaring32* filter) const {
  // Planes are subsets of exists, so |filter ∩ exists ∩ plane| is
  // |filter ∩ plane|: nothing is materialized for the positives. One fused
  // pass per 2^16-column container (Roaring32::AndCardinalityMatrix): the
  // filter's container (and the negatives', filter ∩ sign, materialized only
  // when there are any) stays in L1 while exists and every plane's container
  // stream from memory once, so the count comes from the same pass.
  // Negatives were counted as positives, so they are subtracted twice.
  BsiSum r;
  if (filter == nullptr) {
    r.count = exists_->Cardinality();
    if (r.count == 0 || depth() == 0) return r;
    uint128 all = 0, nsum = 0;
    std::array<const Roaring32*, kBsiMaxDepth> rows;
    const size_t d = planes_.size();
    for (size_t i = 0; i < d; ++i) rows[i] = planes_[i].get();
    std::array<uint64_t, kBsiMaxDepth> negs{};
    const bool signed_values = !sign_->IsEmpty();
    if (signed_values) {
      const Roaring32* filters[] = {sign_.get()};
      Roaring32::AndCardinalityMatrix(filters, std::span(rows.data(), d),
                                      std::span(negs.data(), d));
    }
    for (size_t i = 0; i < d; ++i) {
      all += uint128(planes_[i]->Cardinality()) << i;
      nsum += uint128(negs[i]) << i;
    }
    r.sum = __int128(all) - 2 * __int128(nsum);
    return r;
  }
  if (depth() == 0) {
    r.count = CountNotNull(filter);
    return r;
  }
  Roaring32 owned_neg;
  const Roaring32* neg = nullptr;
  if (Roaring32::Intersects(*filter, *sign_)) {
    owned_neg = Roaring32::And(*filter, *sign_);
    neg = &owned_neg;
  }
  // Row i is plane i, row d exists (for the count). Exists goes last: its
  // container is usually a run, counted from the filter's words, which by
  // then are in L1 rather than read alone from memory.
  const size_t d = planes_.size();
  const size_t nr = d + 1;
  std::array<const Roaring32*, kBsiMaxDepth + 1> rows;
  for (size_t i = 0; i < d; ++i) rows[i] = planes_[i].get();
  rows[d] = exists_.get();
  std::array<const Roaring32*, 2> filters = {filter, neg};
  const size_t nf = neg != nullptr ? 2 : 1;
  std::array<uint64_t, 2 * (kBsiMaxDepth + 1)> counts{};
  Roaring32::AndCardinalityMatrix(std::span(filters.data(), nf),
                                  std::span(rows.data(), nr),
                                  std::span(counts.data(), nf * nr));
  r.count = counts[d];
  uint128 all = 0, nsum = 0;
  for (size_t i = 0; i < d; ++i) {
    all += uint128(counts[i]) << i;
    if (neg != nullptr) nsum += uint128(counts[nr + i]) << i;
  }
  r.sum = __int128(all) - 2 * __int128(nsum);
  return r;
}

namespace {

// The largest (want_max) or smallest magnitude among the columns of
// filter ∩ exists ∩ sign (negative) or filter ∩ exists − sign, and how many
// hold it; count 0 when there are none. Roaring32::SliceExtreme narrows the
// candidates container by container, so nothing is materialized.
Roaring32::Extreme MagnitudeExtreme(const BsiShard& s, const Roaring32* filter,
                                    bool negative, bool want_max) {
  std::array<const Roaring32*, 3> include;
  size_t ni = 0;
  // The sparsest first: its containers drive the walk.
  if (negative) include[ni++] = &s.Sign();
  if (filter != nullptr) include[ni++] = filter;
  include[ni++] = &s.Exists();
  const Roaring32* sign = &s.Sign();
  std::array<const Roaring32*, kBsiMaxDepth> planes;
  for (int i = 0; i < s.depth(); ++i) planes[i] = &s.Plane(i);
  return Roaring32::SliceExtreme(
      std::span(include.data(), ni),
      negative ? std::span<const Roaring32* const>()
               : std::span<const Roaring32* const>(&sign, 1),
      std::span(planes.data(), size_t(s.depth())), want_max);
}

}  // namespace

std::optional<BsiExtreme> BsiShard::Min(const Roaring32* filter) const {
  // Any negative wins: the largest negative magnitude.
  auto e = MagnitudeExtreme(*this, filter, true, true);
  if (e.count > 0) return BsiExtreme{Negated(e.value), e.count};
  e = MagnitudeExtreme(*this, filter, false, false);
  if (e.count > 0) return BsiExtreme{int64_t(e.value), e.count};
  return std::nullopt;
}

std::optional<BsiExtreme> BsiShard::Max(const Roaring32* filter) const {
  auto e = MagnitudeExtreme(*this, filter, false, true);
  if (e.count > 0) return BsiExtreme{int64_t(e.value), e.count};
  // Only negatives: the smallest magnitude.
  e = MagnitudeExtreme(*this, filter, true, false);
  if (e.count > 0) return BsiExtreme{Negated(e.value), e.count};
  return std::nullopt;
}

std::vector<std::pair<uint32_t, int64_t>> BsiShard::Values(
    const Roaring32* filter) const {
  const Roaring32 c = Consider(*exists_, filter);
  std::vector<uint32_t> cols;
  c.AppendTo(&cols);
  std::vector<uint64_t> mags(cols.size(), 0);
  std::vector<uint32_t> hits;
  // Marks bit `bit` of the magnitude of every column in `row`: a merge of
  // two ascending lists.
  auto mark = [&](const Roaring32& row, uint64_t bit) {
    hits.clear();
    Roaring32::And(c, row).AppendTo(&hits);
    size_t j = 0;
    for (uint32_t v : hits) {
      while (cols[j] < v) ++j;
      mags[j] |= bit;
    }
  };
  for (int i = 0; i < depth(); ++i) mark(*planes_[i], uint64_t{1} << i);
  std::vector<std::pair<uint32_t, int64_t>> out(cols.size());
  for (size_t j = 0; j < cols.size(); ++j) out[j] = {cols[j], int64_t(mags[j])};
  hits.clear();
  Roaring32::And(c, *sign_).AppendTo(&hits);
  size_t j = 0;
  for (uint32_t v : hits) {
    while (cols[j] < v) ++j;
    out[j].second = Negated(mags[j]);
  }
  return out;
}

void BsiShard::ValuesInto(const Roaring32& filter, int64_t* value,
                          uint8_t* has) const {
  const Roaring32 c = Roaring32::And(*exists_, filter);
  // Magnitudes first (as uint64 in the int64 slots), then signs.
  c.ForEach([&](uint32_t off) {
    value[off] = 0;
    has[off] = 1;
  });
  for (int i = 0; i < depth(); ++i) {
    const uint64_t bit = uint64_t{1} << i;
    Roaring32::And(c, *planes_[i]).ForEach([&](uint32_t off) {
      value[off] = int64_t(uint64_t(value[off]) | bit);
    });
  }
  Roaring32::And(c, *sign_).ForEach(
      [&](uint32_t off) { value[off] = Negated(uint64_t(value[off])); });
}

std::vector<int64_t> BsiShard::Distinct(const Roaring32* filter) const {
  std::vector<int64_t> out;
  for (const auto& [offset, v] : Values(filter)) out.push_back(v);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool BsiShard::Equals(const BsiShard& other) const {
  if (!exists_->Equals(*other.exists_) || !sign_->Equals(*other.sign_)) {
    return false;
  }
  for (int i = 0; i < std::max(depth(), other.depth()); ++i) {
    if (!Plane(i).Equals(other.Plane(i))) return false;
  }
  return true;
}

size_t BsiShard::MemoryBytes() const {
  size_t n = exists_->MemoryBytes() + sign_->MemoryBytes();
  for (const Row& p : planes_) n += p->MemoryBytes();
  return n;
}

void BsiShard::Encode(std::string* out) const {
  out->push_back(char(kFormatVersion));
  out->push_back(char(depth()));
  auto put = [out](const Roaring32& r) {
    PutFixed<uint32_t>(out, uint32_t(r.PortableSize()));
    r.AppendPortable(out);
  };
  put(*exists_);
  put(*sign_);
  for (const Row& p : planes_) put(*p);
}

absl::StatusOr<BsiShard> BsiShard::Decode(std::string_view bytes) {
  if (bytes.size() < 2) {
    return absl::DataLossError(fmt::format(
        "decode bsi shard: truncated header (need 2, have {})", bytes.size()));
  }
  if (uint8_t(bytes[0]) != kFormatVersion) {
    return absl::DataLossError(
        fmt::format("decode bsi shard: unknown version {}", uint8_t(bytes[0])));
  }
  const int depth = uint8_t(bytes[1]);
  if (depth > kBsiMaxDepth) {
    return absl::DataLossError(fmt::format(
        "decode bsi shard: depth {} above {}", depth, kBsiMaxDepth));
  }
  size_t pos = 2;
  std::vector<Roaring32> rows;
  for (int r = 0; r < 2 + depth; ++r) {
    if (bytes.size() - pos < 4) {
      return absl::DataLossError(fmt::format(
          "decode bsi shard: truncated length of row {} at offset {} (need "
          "4, have {})",
          r, pos, bytes.size() - pos));
    }
    const uint32_t len = LoadFixed<uint32_t>(bytes.data() + pos);
    pos += 4;
    if (bytes.size() - pos < len) {
      return absl::DataLossError(fmt::format(
          "decode bsi shard: truncated row {} at offset {} (need {}, have {})",
          r, pos, len, bytes.size() - pos));
    }
    auto row =
        Roaring32::DecodePortable(bytes.substr(pos, len), kShardWidth - 1);
    if (!row.ok()) {
      return Annotate(
          row.status(),
          fmt::format("decode bsi shard: row {} at offset {}", r, pos));
    }
    rows.push_back(*std::move(row));
    pos += len;
  }
  if (pos != bytes.size()) {
    return absl::DataLossError(
        fmt::format("decode bsi shard: {} trailing bytes at offset {}",
                    bytes.size() - pos, pos));
  }
  Roaring32 exists = std::move(rows[0]);
  Roaring32 sign = std::move(rows[1]);
  rows.erase(rows.begin(), rows.begin() + 2);
  auto shard = FromRows(std::move(exists), std::move(sign), std::move(rows));
  if (!shard.ok()) {
    return absl::DataLossError(
        fmt::format("decode {}", Message(shard.status())));
  }
  return shard;
}

}  // namespace featurebase::internal
