// The order of a batch's adds, tombstones (DeleteRecord), field deletes
// and clears, partial and full upserts, and null keys, against a naive
// model that applies every operation one at a time in the order it was
// made (Kafka Streams' changelog semantics: a table is its changes replayed
// in order).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::StatusIs;
using featurebase::testing::TestSeeds;

// The batch writes tags (set), color (mutex), n (int) and flag (bool);
// "other" (mutex) is written only outside the batch, so a full upsert must
// clear it.
const std::vector<std::string> kBatchFields = {"tags", "color", "n", "flag"};

struct Rec {
  std::set<uint64_t> tags;
  std::optional<uint64_t> color, other;
  std::optional<int64_t> n;
  std::optional<bool> flag;
};

// One operation on a record, its values null where absent.
struct Op {
  enum Kind { kAdd, kTombstone, kDeleteFields, kClear, kNullKey } kind;
  uint64_t id = 0;
  std::vector<uint64_t> tags;  // empty: null
  std::optional<uint64_t> color;
  std::optional<int64_t> n;
  std::optional<bool> flag;
  std::vector<std::string> fields;  // kDeleteFields
};

struct Model {
  std::map<uint64_t, Rec> recs;  // the records that exist
  bool full = false;
  bool sum = false;  // n merges by kSum
  uint64_t deleted = 0, unknown = 0, dropped = 0;

  void Apply(const Op& op) {
    switch (op.kind) {
      case Op::kNullKey:
        ++dropped;
        return;
      case Op::kAdd: {
        auto [it, fresh] = recs.try_emplace(op.id);
        Rec& r = it->second;
        if (full) r = Rec{};
        r.tags.insert(op.tags.begin(), op.tags.end());
        if (op.color) r.color = op.color;
        if (op.n) r.n = sum && r.n ? *r.n + *op.n : *op.n;
        if (op.flag) r.flag = op.flag;
        return;
      }
      case Op::kTombstone:
        ++(recs.erase(op.id) ? deleted : unknown);
        return;
      case Op::kDeleteFields: {
        auto it = recs.find(op.id);
        if (it == recs.end()) return;
        for (const std::string& f : op.fields) {
          if (f == "tags") it->second.tags.clear();
          if (f == "color") it->second.color.reset();
          if (f == "n") it->second.n.reset();
          if (f == "flag") it->second.flag.reset();
          if (f == "other") it->second.other.reset();
        }
        return;
      }
      case Op::kClear: {
        auto it = recs.find(op.id);
        if (it == recs.end()) return;
        Rec& r = it->second;
        for (uint64_t t : op.tags) r.tags.erase(t);
        if (op.color && r.color == op.color) r.color.reset();
        if (op.n) r.n.reset();  // a value clear takes whatever is stored
        if (op.flag && r.flag == op.flag) r.flag.reset();
        return;
      }
    }
  }
};

std::string KeyOf(uint64_t id) { return fmt::format("k{}", id); }

Record ToRecord(const Op& op, bool keyed) {
  Record r;
  if (op.kind != Op::kNullKey) {
    if (keyed) {
      r.id = KeyOf(op.id);
    } else {
      r.id = op.id;
    }
  }
  r.values.push_back(op.tags.empty() ? FieldInput(Value())
                                     : FieldInput(op.tags));
  r.values.push_back(op.color ? Value::Id(*op.color) : Value());
  r.values.push_back(op.n ? Value::Int(*op.n) : Value());
  r.values.push_back(op.flag ? Value::Bool(*op.flag) : Value());
  return r;
}

Op RandomOp(std::mt19937_64& rng, const std::vector<uint64_t>& ids) {
  Op op;
  const int k = int(rng() % 100);
  op.kind = k < 55   ? Op::kAdd
            : k < 72 ? Op::kTombstone
            : k < 82 ? Op::kDeleteFields
            : k < 95 ? Op::kClear
                     : Op::kNullKey;
  op.id = ids[rng() % ids.size()];
  // Tombstones of records that never existed.
  if (op.kind == Op::kTombstone && rng() % 5 == 0) op.id += 1000000;
  if (op.kind == Op::kDeleteFields) {
    for (const char* f : {"tags", "color", "n", "flag", "other"}) {
      if (rng() % 2) op.fields.push_back(f);
    }
    if (op.fields.empty()) op.fields.push_back("color");
    return op;
  }
  if (op.kind == Op::kTombstone) return op;
  if (rng() % 3) {
    for (int i = 0, m = 1 + int(rng() % 2); i < m; ++i)
      op.tags.push_back(rng() % 5);
  }
  if (rng() % 3) op.color = rng() % 3;
  if (rng() % 3) op.n = int64_t(rng() % 200) - 100;
  if (rng() % 3) op.flag = rng() % 2 == 0;
  return op;
}

void ExpectMatches(Index& index, const Model& m, bool keyed,
                   const std::set<uint64_t>& ever) {
  auto snap = index.GetSnapshot();
  auto all = snap->All();
  ASSERT_TRUE(all.ok());
  for (uint64_t id : ever) {
    uint64_t col = id;
    auto it = m.recs.find(id);
    if (keyed) {
      auto found = snap->ColumnKeys()->FindKey(KeyOf(id));
      ASSERT_TRUE(found.ok());
      // A record's key lives exactly as long as the record.
      ASSERT_EQ(*found != 0, it != m.recs.end()) << KeyOf(id);
      if (*found == 0) continue;
      col = *found;
    }
    EXPECT_EQ(all->Contains(col), it != m.recs.end()) << "record " << id;
    const Rec want = it == m.recs.end() ? Rec{} : it->second;
    auto rows = [&](const char* f) {
      auto r = snap->RowsOfColumn(f, col);
      EXPECT_TRUE(r.ok()) << r.status();
      return r.ok() ? *r : std::vector<uint64_t>{};
    };
    auto one = [](std::optional<uint64_t> v) {
      return v ? std::vector<uint64_t>{*v} : std::vector<uint64_t>{};
    };
    EXPECT_EQ(rows("tags"),
              std::vector<uint64_t>(want.tags.begin(), want.tags.end()))
        << "record " << id;
    EXPECT_EQ(rows("color"), one(want.color)) << "record " << id;
    EXPECT_EQ(rows("other"), one(want.other)) << "record " << id;
    std::optional<uint64_t> flag;
    if (want.flag) flag = *want.flag ? 1 : 0;
    EXPECT_EQ(rows("flag"), one(flag)) << "record " << id;
    auto v = snap->FieldValue("n", col);
    ASSERT_TRUE(v.ok()) << v.status();
    std::optional<int64_t> n;
    if (v->has_value()) n = (*v)->integer();
    EXPECT_EQ(n, want.n) << "record " << id;
  }
}

struct Mode {
  bool keyed, full, sum;
};

class BatchOrderTest : public ::testing::TestWithParam<Mode> {};

TEST_P(BatchOrderTest, MatchesOperationsAppliedOneByOne) {
  const Mode mode = GetParam();
  for (uint64_t seed : TestSeeds(8)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    IndexOptions io;
    io.keys = mode.keyed;
    auto index = *Index::Create("o", io);
    FB_ASSERT_OK(index->CreateField("tags", FieldOptions::Set()));
    FB_ASSERT_OK(index->CreateField("color", FieldOptions::Mutex()));
    FB_ASSERT_OK(index->CreateField("n", FieldOptions::Int(-1000000, 1000000)));
    FB_ASSERT_OK(index->CreateField("flag", FieldOptions::Bool()));
    FB_ASSERT_OK(index->CreateField("other", FieldOptions::Mutex()));
    // Few ids over three shards, so that one batch touches a record often.
    std::vector<uint64_t> ids;
    for (int i = 0; i < 25; ++i)
      ids.push_back(ShardStart(rng() % 3) + rng() % 3000);
    Model m;
    m.full = mode.full;
    m.sum = mode.sum;
    std::set<uint64_t> ever;
    // Some records start with a field the batch never writes.
    for (uint64_t id : ids) {
      if (rng() % 2) continue;
      const uint64_t other = rng() % 4;
      Record r;
      if (mode.keyed) {
        r.id = KeyOf(id);
      } else {
        r.id = id;
      }
      auto seedb = Batch::Create(index.get(), {"other"});
      FB_ASSERT_OK(seedb);
      r.values = {Value::Id(other)};
      FB_ASSERT_OK((*seedb)->Add(r));
      FB_ASSERT_OK((*seedb)->Flush());
      m.recs[id].other = other;
      ever.insert(id);
    }
    BatchOptions o;
    o.upsert = mode.full ? Upsert::kFull : Upsert::kPartial;
    if (mode.sum) o.merges["n"] = Merge::kSum;
    auto batch = Batch::Create(index.get(), kBatchFields, o);
    FB_ASSERT_OK(batch);
    for (int flush = 0; flush < 6; ++flush) {
      const uint64_t d0 = m.deleted, u0 = m.unknown, n0 = m.dropped;
      const int n = int(rng() % 120) + 1;
      for (int k = 0; k < n; ++k) {
        const Op op = RandomOp(rng, ids);
        SCOPED_TRACE(fmt::format("flush {} op {}", flush, k));
        switch (op.kind) {
          case Op::kAdd:
          case Op::kNullKey:
            FB_ASSERT_OK((*batch)->Add(ToRecord(op, mode.keyed)));
            break;
          case Op::kTombstone:
            if (mode.keyed) {
              FB_ASSERT_OK((*batch)->DeleteRecord(KeyOf(op.id)));
            } else {
              FB_ASSERT_OK((*batch)->DeleteRecord(op.id));
            }
            break;
          case Op::kDeleteFields:
            if (mode.keyed) {
              FB_ASSERT_OK((*batch)->DeleteFields(KeyOf(op.id), op.fields));
            } else {
              FB_ASSERT_OK((*batch)->DeleteFields(op.id, op.fields));
            }
            break;
          case Op::kClear:
            FB_ASSERT_OK((*batch)->AddClear(ToRecord(op, mode.keyed)));
            break;
        }
        m.Apply(op);
        if (op.kind != Op::kNullKey && op.id < 1000000) ever.insert(op.id);
      }
      auto r = (*batch)->Flush();
      FB_ASSERT_OK(r);
      EXPECT_EQ(r->deleted, m.deleted - d0);
      EXPECT_EQ(r->unknown_tombstones, m.unknown - u0);
      EXPECT_EQ(r->dropped_null_keys, m.dropped - n0);
      ExpectMatches(*index, m, mode.keyed, ever);
    }
    // The drawn sequences do exercise each path.
    EXPECT_GT(m.deleted, 0u);
    EXPECT_GT(m.unknown, 0u);
    EXPECT_GT(m.dropped, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, BatchOrderTest,
    ::testing::Values(Mode{false, false, false}, Mode{true, false, false},
                      Mode{false, false, true}, Mode{true, false, true},
                      Mode{false, true, false}, Mode{true, true, false}),
    [](const auto& info) {
      return std::string(info.param.keyed ? "Keyed" : "Ids") +
             (info.param.full ? "Full" : "Partial") +
             (info.param.sum ? "Sum" : "Last");
    });

// The cases the contract names, each on its own.
TEST(BatchOrderTest, AddThenTombstoneDeletesTombstoneThenAddRecreates) {
  IndexOptions io;
  io.keys = true;
  auto index = *Index::Create("o", io);
  FB_ASSERT_OK(index->CreateField("color", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->CreateField("n", FieldOptions::Int(0, 100)));
  auto batch = Batch::Create(index.get(), {"color", "n"});
  FB_ASSERT_OK(batch);
  Record a{.id = std::string("a"), .values = {Value::Id(1), Value::Int(5)}};
  Record b{.id = std::string("b"), .values = {Value::Id(2), Value::Int(6)}};
  FB_ASSERT_OK((*batch)->Add(a));
  FB_ASSERT_OK((*batch)->Add(b));
  FB_ASSERT_OK((*batch)->Flush());
  // a: add, then tombstone. b: tombstone, then an add carrying only color.
  FB_ASSERT_OK((*batch)->Add(a));
  FB_ASSERT_OK((*batch)->DeleteRecord(std::string("a")));
  FB_ASSERT_OK((*batch)->DeleteRecord(std::string("b")));
  Record b2{.id = std::string("b"), .values = {Value::Id(3), Value()}};
  FB_ASSERT_OK((*batch)->Add(b2));
  auto r = (*batch)->Flush();
  FB_ASSERT_OK(r);
  EXPECT_EQ(r->deleted, 2u);
  EXPECT_EQ(r->unknown_tombstones, 0u);
  auto snap = index->GetSnapshot();
  auto ka = snap->ColumnKeys()->FindKey("a");
  FB_ASSERT_OK(ka);
  EXPECT_EQ(*ka, 0u) << "a's key is freed";
  auto kb = snap->ColumnKeys()->FindKey("b");
  FB_ASSERT_OK(kb);
  ASSERT_NE(*kb, 0u) << "b's key is kept: b was recreated";
  auto color = snap->RowsOfColumn("color", *kb);
  FB_ASSERT_OK(color);
  EXPECT_EQ(*color, std::vector<uint64_t>{3});
  auto n = snap->FieldValue("n", *kb);
  FB_ASSERT_OK(n);
  EXPECT_FALSE(n->has_value()) << "the tombstone took b's old n";
}

TEST(BatchOrderTest, TombstonesOfUnknownKeysAreCountedNoOps) {
  IndexOptions io;
  io.keys = true;
  auto index = *Index::Create("o", io);
  FB_ASSERT_OK(index->CreateField("color", FieldOptions::Mutex()));
  auto batch = Batch::Create(index.get(), {"color"});
  FB_ASSERT_OK(batch);
  FB_ASSERT_OK((*batch)->DeleteRecord(std::string("nobody")));
  FB_ASSERT_OK((*batch)->DeleteRecord(std::string("nobody")));
  auto r = (*batch)->Flush();
  FB_ASSERT_OK(r);
  EXPECT_EQ(r->unknown_tombstones, 2u);
  EXPECT_EQ(r->deleted, 0u);
  auto k = index->GetSnapshot()->ColumnKeys()->FindKey("nobody");
  FB_ASSERT_OK(k);
  EXPECT_EQ(*k, 0u) << "a tombstone never creates a key";
}

TEST(BatchOrderTest, NullKeysAreDroppedAndCountedInEveryExplicitBatch) {
  for (const bool keyed : {false, true}) {
    IndexOptions io;
    io.keys = keyed;
    auto index = *Index::Create("o", io);
    FB_ASSERT_OK(index->CreateField("color", FieldOptions::Mutex()));
    auto batch = Batch::Create(index.get(), {"color"});
    FB_ASSERT_OK(batch);
    Record null_key{.values = {Value::Id(1)}};
    FB_ASSERT_OK((*batch)->Add(null_key));
    FB_ASSERT_OK((*batch)->Add(null_key));
    Record good{.values = {Value::Id(2)}};
    if (keyed) {
      good.id = std::string("x");
    } else {
      good.id = uint64_t{7};
    }
    FB_ASSERT_OK((*batch)->Add(good));
    EXPECT_EQ((*batch)->size(), 1u);
    auto r = (*batch)->Flush();
    FB_ASSERT_OK(r);
    EXPECT_EQ(r->dropped_null_keys, 2u);
    EXPECT_EQ(r->accepted, 1u);
    EXPECT_EQ(r->rejected, 0u);
    auto all = index->GetSnapshot()->All();
    FB_ASSERT_OK(all);
    EXPECT_EQ(all->Cardinality(), 1u);
  }
}

TEST(BatchOrderTest, FullUpsertClearsWhatTheRecordDoesNotCarry) {
  auto index = *Index::Create("o");
  FB_ASSERT_OK(index->CreateField("tags", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("n", FieldOptions::Int(0, 100)));
  FB_ASSERT_OK(index->CreateField("other", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->Set(9, "other", Value::Id(4)));
  FB_ASSERT_OK(index->Set(9, "tags", Value::Id(1)));
  BatchOptions full;
  full.upsert = Upsert::kFull;
  auto batch = Batch::Create(index.get(), {"tags", "n"}, full);
  FB_ASSERT_OK(batch);
  // Two adds of record 9: only the last counts, and it replaces the record.
  FB_ASSERT_OK(
      (*batch)->Add({.id = uint64_t{9},
                     .values = {std::vector<uint64_t>{2, 3}, Value::Int(50)}}));
  FB_ASSERT_OK((*batch)->Add(
      {.id = uint64_t{9}, .values = {std::vector<uint64_t>{5}, Value()}}));
  FB_ASSERT_OK((*batch)->Flush());
  auto snap = index->GetSnapshot();
  auto tags = snap->RowsOfColumn("tags", 9);
  FB_ASSERT_OK(tags);
  EXPECT_EQ(*tags, std::vector<uint64_t>{5});
  auto other = snap->RowsOfColumn("other", 9);
  FB_ASSERT_OK(other);
  EXPECT_TRUE(other->empty()) << "a field outside the batch is cleared too";
  auto n = snap->FieldValue("n", 9);
  FB_ASSERT_OK(n);
  EXPECT_FALSE(n->has_value());
  auto all = snap->All();
  FB_ASSERT_OK(all);
  EXPECT_TRUE(all->Contains(9));
}

TEST(BatchOrderTest, FullUpsertRefusesMergesAndIdModesRefuseDeletes) {
  auto index = *Index::Create("o");
  FB_ASSERT_OK(index->CreateField("n", FieldOptions::Int(0, 100)));
  BatchOptions o;
  o.upsert = Upsert::kFull;
  o.merges["n"] = Merge::kSum;
  EXPECT_THAT(Batch::Create(index.get(), {"n"}, o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("merge sum on field \"n\" under a "
                                            "full upsert")));
  o.merges["n"] = Merge::kLast;
  FB_EXPECT_OK(Batch::Create(index.get(), {"n"}, o).status());
  BatchOptions auto_ids;
  auto_ids.id_mode = IdMode::kAutoGenerate;
  auto batch = Batch::Create(index.get(), {"n"}, auto_ids);
  FB_ASSERT_OK(batch);
  EXPECT_THAT((*batch)->DeleteRecord(uint64_t{1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace featurebase
