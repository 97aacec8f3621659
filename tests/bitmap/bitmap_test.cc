#include "featurebase/bitmap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <vector>

#include "featurebase/shard.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using Model = std::set<uint64_t>;
using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::vector<uint64_t> ToVec(const Model& m) { return {m.begin(), m.end()}; }

// Values clustered where bugs live: a few shards, shard and container
// boundaries, and the top of the 64-bit range.
class ValueGen {
 public:
  explicit ValueGen(uint64_t seed) : rng_(seed) {}
  uint64_t Next() {
    switch (rng_() % 6) {
      case 0:
        return rng_() % (4 * kShardWidth);
      case 1:
        return ShardStart(rng_() % 5) + (rng_() % 64) - 32 +
               (rng_() % 2) * 65536;
      case 2:
        return UINT64_MAX - rng_() % 3000;
      case 3:
        return ShardStart(rng_() % 3) + rng_() % 70000;  // dense region
      case 4:
        return rng_();
      default:
        return rng_() % 100;
    }
  }
  uint64_t Raw() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

void ExpectSame(const Bitmap& b, const Model& m) {
  ASSERT_EQ(b.Cardinality(), m.size());
  ASSERT_EQ(b.IsEmpty(), m.empty());
  ASSERT_EQ(b.ToVector(), ToVec(m));
  std::vector<uint64_t> seen;
  b.ForEach([&](uint64_t v) { seen.push_back(v); });
  ASSERT_EQ(seen, ToVec(m));
  if (!m.empty()) {
    ASSERT_EQ(b.Minimum(), *m.begin());
    ASSERT_EQ(b.Maximum(), *m.rbegin());
  } else {
    ASSERT_FALSE(b.Minimum().has_value());
  }
}

Model Apply(const Model& a, const Model& b, char op) {
  Model out;
  switch (op) {
    case '&':
      std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                            std::inserter(out, out.end()));
      break;
    case '|':
      std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                     std::inserter(out, out.end()));
      break;
    case '-':
      std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                          std::inserter(out, out.end()));
      break;
    default:
      std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(),
                                    std::inserter(out, out.end()));
  }
  return out;
}

TEST(BitmapTest, MatchesSetModelUnderRandomOperations) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    ValueGen gen(seed);
    Bitmap b, other;
    Model m, mo;
    for (int step = 0; step < 1500; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const uint64_t v = gen.Next();
      switch (gen.Raw() % 12) {
        case 0:
        case 1:
        case 2:
          ASSERT_EQ(b.Add(v), m.insert(v).second);
          break;
        case 3:
          ASSERT_EQ(b.Remove(v), m.erase(v) == 1);
          break;
        case 4: {
          const uint64_t len = gen.Raw() % 200000;
          const uint64_t hi = v > UINT64_MAX - len ? UINT64_MAX : v + len;
          if (len < 5000) {  // keep the model small
            b.AddRange(v, hi);
            for (uint64_t x = v; x < hi; ++x) m.insert(x);
          } else {
            b.RemoveRange(v, hi);
            m.erase(m.lower_bound(v), m.lower_bound(hi));
          }
          break;
        }
        case 5:
          other.Add(v);
          mo.insert(v);
          break;
        case 6: {
          const char ops[] = {'&', '|', '-', '^'};
          const char op = ops[gen.Raw() % 4];
          const Model expect = Apply(m, mo, op);
          Bitmap got = op == '&'   ? (b & other)
                       : op == '|' ? (b | other)
                       : op == '-' ? (b - other)
                                   : (b ^ other);
          ExpectSame(got, expect);
          Bitmap inplace = b;
          if (op == '&') inplace &= other;
          if (op == '|') inplace |= other;
          if (op == '-') inplace -= other;
          if (op == '^') inplace ^= other;
          ASSERT_TRUE(inplace == got);
          ASSERT_EQ(Bitmap::IntersectCount(b, other), Apply(m, mo, '&').size());
          ASSERT_EQ(Bitmap::UnionCount(b, other), Apply(m, mo, '|').size());
          ASSERT_EQ(Bitmap::DifferenceCount(b, other),
                    Apply(m, mo, '-').size());
          ASSERT_EQ(Bitmap::XorCount(b, other), Apply(m, mo, '^').size());
          ASSERT_EQ(Bitmap::Intersects(b, other), !Apply(m, mo, '&').empty());
          ASSERT_EQ(b.IsSubsetOf(other), Apply(m, mo, '-').empty());
          if (gen.Raw() % 3 == 0) {
            b = std::move(got);
            m = expect;
          }
          break;
        }
        case 7: {
          ASSERT_EQ(b.Contains(v), m.count(v) == 1);
          const uint64_t rank = std::distance(m.begin(), m.upper_bound(v));
          ASSERT_EQ(b.Rank(v), rank);
          const uint64_t hi =
              v > UINT64_MAX - 100000 ? UINT64_MAX : v + gen.Raw() % 100000;
          ASSERT_EQ(
              b.RangeCardinality(v, hi),
              uint64_t(std::distance(m.lower_bound(v), m.lower_bound(hi))));
          break;
        }
        case 8: {
          if (m.empty()) break;
          const uint64_t r = gen.Raw() % (m.size() + 2);
          auto got = b.Select(r);
          if (r < m.size()) {
            ASSERT_EQ(got, *std::next(m.begin(), r));
          } else {
            ASSERT_FALSE(got.has_value());
          }
          break;
        }
        case 9: {
          const uint64_t n = gen.Raw() % 3 == 0 ? ShardStart(gen.Raw() % 4)
                                                : gen.Raw() % 3000000;
          Model shifted;
          for (uint64_t x : m) {
            if (x <= UINT64_MAX - n) shifted.insert(x + n);
          }
          ExpectSame(b.Shift(n), shifted);
          break;
        }
        case 10: {
          const uint64_t off = gen.Raw() % (m.size() + 3),
                         lim = gen.Raw() % (m.size() + 3);
          Model sliced;
          auto it = m.begin();
          for (uint64_t i = 0; i < off && it != m.end(); ++i) ++it;
          for (uint64_t i = 0; i < lim && it != m.end(); ++i)
            sliced.insert(*it++);
          ExpectSame(b.Slice(off, lim), sliced);
          break;
        }
        default: {
          auto round = Bitmap::Deserialize(b.Serialize());
          FB_ASSERT_OK(round);
          ASSERT_TRUE(*round == b);
          ASSERT_EQ(b.Serialize().size(), b.SerializedSize());
          break;
        }
      }
      if (step % 50 == 0) ExpectSame(b, m);
    }
    ExpectSame(b, m);
    b.Optimize();
    ExpectSame(b, m);
  }
}

TEST(BitmapTest, AlgebraLaws) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    ValueGen gen(seed);
    Bitmap a, b, c, universe;
    for (int i = 0; i < 3000; ++i) {
      a.Add(gen.Next());
      b.Add(gen.Next());
      c.Add(gen.Next());
    }
    universe = a | b | c;
    // De Morgan inside the universe.
    EXPECT_TRUE(universe - (a | b) == ((universe - a) & (universe - b)));
    EXPECT_TRUE(universe - (a & b) == ((universe - a) | (universe - b)));
    // Inclusion-exclusion.
    EXPECT_EQ((a | b).Cardinality(),
              a.Cardinality() + b.Cardinality() - Bitmap::IntersectCount(a, b));
    // Distributivity and xor identities.
    EXPECT_TRUE((a & (b | c)) == ((a & b) | (a & c)));
    EXPECT_TRUE((a ^ b) == ((a - b) | (b - a)));
    EXPECT_TRUE((a ^ a).IsEmpty());
    const Bitmap* all[] = {&a, &b, &c};
    EXPECT_TRUE(Bitmap::UnionMany(all) == universe);
  }
}

TEST(BitmapTest, RangesCrossShards) {
  Bitmap b = Bitmap::FromRange(kShardWidth - 5, 3 * kShardWidth + 7);
  EXPECT_EQ(b.Cardinality(), 2 * kShardWidth + 12);
  EXPECT_EQ(b.Minimum(), kShardWidth - 5);
  EXPECT_EQ(b.Maximum(), 3 * kShardWidth + 6);
  b.RemoveRange(kShardWidth, 3 * kShardWidth);
  EXPECT_EQ(b.ToVector().size(), 12u);
  Bitmap top = Bitmap::FromRange(UINT64_MAX - 10, UINT64_MAX);
  EXPECT_EQ(top.Cardinality(), 10u);
  EXPECT_FALSE(top.Contains(UINT64_MAX));
  EXPECT_TRUE(Bitmap::FromRange(7, 7).IsEmpty());
  EXPECT_TRUE(Bitmap::FromRange(9, 7).IsEmpty());
}

TEST(BitmapTest, ShiftDropsValuesPastTheTop) {
  Bitmap b = Bitmap::Of({1, UINT64_MAX - 1, UINT64_MAX});
  EXPECT_EQ(b.Shift(1).ToVector(), (std::vector<uint64_t>{2, UINT64_MAX}));
  EXPECT_EQ(b.Shift(kShardWidth).ToVector(),
            (std::vector<uint64_t>{kShardWidth + 1}));
}

TEST(BitmapTest, CopiesAreDeepAndMovesLeaveEmpty) {
  Bitmap a = Bitmap::Of({1, 2, 3});
  Bitmap b = a;
  b.Add(4);
  EXPECT_EQ(a.Cardinality(), 3u);
  Bitmap c = std::move(b);
  EXPECT_EQ(c.Cardinality(), 4u);
  EXPECT_TRUE(
      b.IsEmpty());  // NOLINT(bugprone-use-after-move): documented state
}

}  // namespace
}  // namespace featurebase
