// Row planning: the Node each representative row call becomes (kinds,
// fields, rows, views, predicates, constants), and the errors planning
// reports before any evaluation.
#include "lib/query/plan.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/shard.h"
#include "lib/core/time_views.h"
#include "lib/db/index_access.h"
#include "lib/pql/parser.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = *Index::Create("i");
    FB_ASSERT_OK(index_->CreateField("s", FieldOptions::Set()));
    FieldOptions k = FieldOptions::Set();
    k.keys = true;
    FB_ASSERT_OK(index_->CreateField("k", k));
    FB_ASSERT_OK(index_->CreateField("v", FieldOptions::Int(-100, 100)));
    FB_ASSERT_OK(index_->CreateField("d", FieldOptions::Decimal(2, -100, 100)));
    FB_ASSERT_OK(index_->Set(1, "s", Value::Id(3)));
    FB_ASSERT_OK(index_->Set(kShardWidth + 2, "s", Value::Id(3)));
    FB_ASSERT_OK(index_->Set(5, "k", Value::Key("a")));
  }

  // The plan of `pql` (one row call), in a fresh state.
  absl::StatusOr<Node> Plan(const std::string& pql, bool partial = false) {
    auto q = pql::Parse(pql);
    if (!q.ok()) return q.status();
    es_ = std::make_unique<ExecState>(*index_, QueryOptions{}, partial);
    es_->Refresh();
    return PlanRow(*es_, q->calls.at(0));
  }

  // The spec of value field `name` in the current snapshot.
  BsiFieldSpec Spec(const std::string& name) {
    auto snap = index_->GetSnapshot();
    return *SnapshotAccess::State(*snap).FindField(name)->bsi;
  }

  std::unique_ptr<Index> index_;
  std::unique_ptr<ExecState> es_;
};

TEST_F(PlanTest, RowNamesFieldRowAndStandardView) {
  auto n = Plan("Row(s=3)");
  FB_ASSERT_OK(n);
  EXPECT_EQ(n->kind, NodeKind::kRow);
  ASSERT_NE(n->field, nullptr);
  EXPECT_EQ(n->field->name, "s");
  EXPECT_EQ(n->row, 3u);
  EXPECT_EQ(n->views, std::vector<uint64_t>{kStandardView});
}

TEST_F(PlanTest, UnknownKeyPlansNothing) {
  auto n = Plan("Row(k=\"absent\")");
  FB_ASSERT_OK(n);
  EXPECT_EQ(n->kind, NodeKind::kEmpty);
  auto known = Plan("Row(k=\"a\")");
  FB_ASSERT_OK(known);
  EXPECT_EQ(known->kind, NodeKind::kRow);
}

TEST_F(PlanTest, SetOperationsKeepTheirChildrenInOrder) {
  for (auto [call, kind] : std::vector<std::pair<std::string, NodeKind>>{
           {"Union", NodeKind::kUnion},
           {"Intersect", NodeKind::kIntersect},
           {"Difference", NodeKind::kDifference},
           {"Xor", NodeKind::kXor}}) {
    SCOPED_TRACE(call);
    auto n = Plan(call + "(Row(s=1), Row(s=2), Row(k=\"a\"))");
    FB_ASSERT_OK(n);
    EXPECT_EQ(n->kind, kind);
    ASSERT_EQ(n->kids.size(), 3u);
    EXPECT_EQ(n->kids[0].row, 1u);
    EXPECT_EQ(n->kids[1].row, 2u);
    EXPECT_EQ(n->kids[2].field->name, "k");
  }
  auto n = Plan("Not(Row(s=1))");
  FB_ASSERT_OK(n);
  EXPECT_EQ(n->kind, NodeKind::kNot);
  ASSERT_EQ(n->kids.size(), 1u);
  EXPECT_EQ(n->kids[0].kind, NodeKind::kRow);
}

TEST_F(PlanTest, ComparisonsOnValueFieldsBecomePredicates) {
  const BsiFieldSpec spec = Spec("v");
  auto gt = Plan("Row(v > 5)");
  FB_ASSERT_OK(gt);
  EXPECT_EQ(gt->kind, NodeKind::kBsi);
  EXPECT_EQ(gt->predicate, spec.Translate(BsiOp::kGt, 5));
  // Row(v=5) on a value field is Row(v == 5).
  auto eq = Plan("Row(v=5)");
  FB_ASSERT_OK(eq);
  EXPECT_EQ(eq->kind, NodeKind::kBsi);
  EXPECT_EQ(eq->predicate, spec.Translate(BsiOp::kEq, 5));
}

TEST_F(PlanTest, DecimalsFinerThanTheScaleRoundTheComparison) {
  // 1.234 lies strictly between raw 123 and 124 (scale 2).
  auto eq = Plan("Row(d == 1.234)");
  FB_ASSERT_OK(eq);
  EXPECT_EQ(eq->kind, NodeKind::kEmpty);
  auto ne = Plan("Row(d != 1.234)");
  FB_ASSERT_OK(ne);
  EXPECT_EQ(ne->kind, NodeKind::kExistence);
  auto lt = Plan("Row(d < 1.234)");
  FB_ASSERT_OK(lt);
  ASSERT_EQ(lt->kind, NodeKind::kBsi);
  EXPECT_EQ(lt->predicate, Spec("d").Translate(BsiOp::kLte, 123));
}

TEST_F(PlanTest, NullComparisonsUseExistence) {
  auto not_null = Plan("Row(v != null)");
  FB_ASSERT_OK(not_null);
  EXPECT_EQ(not_null->kind, NodeKind::kExistence);
  auto is_null = Plan("Row(v == null)");
  FB_ASSERT_OK(is_null);
  ASSERT_EQ(is_null->kind, NodeKind::kDifference);
  ASSERT_EQ(is_null->kids.size(), 2u);
  EXPECT_EQ(is_null->kids[0].kind, NodeKind::kAll);
  EXPECT_EQ(is_null->kids[1].kind, NodeKind::kExistence);
}

TEST_F(PlanTest, ShiftAndLimitAreEvaluatedIntoConstants) {
  auto shift = Plan("Shift(Row(s=3), n=1)");
  FB_ASSERT_OK(shift);
  ASSERT_EQ(shift->kind, NodeKind::kConst);
  EXPECT_EQ(shift->constant->ToVector(),
            (std::vector<uint64_t>{2, kShardWidth + 3}));
  auto limit = Plan("Limit(Row(s=3), offset=1)");
  FB_ASSERT_OK(limit);
  ASSERT_EQ(limit->kind, NodeKind::kConst);
  EXPECT_EQ(limit->constant->ToVector(),
            (std::vector<uint64_t>{kShardWidth + 2}));
}

TEST_F(PlanTest, ErrorsNameTheCallAndTheReason) {
  auto not_row = Plan("Count(Row(s=1))");
  EXPECT_EQ(not_row.status().message(), "Count(): is not a row call");
  auto empty = Plan("Intersect()");
  EXPECT_EQ(empty.status().message(),
            "Intersect(): empty Intersect query is currently not supported");
  auto two = Plan("Row(s=1, k=2)");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(two.status().message().find("expects exactly one field argument"),
            std::string::npos)
      << two.status();
  auto negative = Plan("Row(s=-1)");
  EXPECT_EQ(negative.status().message(),
            "Row(): negative row -1 for field \"s\"");
  auto unknown = Plan("Row(nope=1)");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PlanTest, PartialsRefuseNestedCallsThatDependOnOtherShards) {
  for (std::string inner : {"Shift(Row(s=1))", "Limit(Row(s=1), limit=1)",
                            "All(limit=2)", "Distinct(field=s)"}) {
    SCOPED_TRACE(inner);
    auto n = Plan("Union(" + inner + ")", /*partial=*/true);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(n.status().message().find(
                  "cannot run inside another call of a partial result"),
              std::string::npos)
        << n.status();
    FB_EXPECT_OK(Plan("Union(" + inner + ")"));
  }
  FB_EXPECT_OK(Plan("Union(All())", /*partial=*/true));
}

TEST(PlanExistenceTest, NotAndAllNeedExistenceTracking) {
  IndexOptions o;
  o.track_existence = false;
  auto index = *Index::Create("i", o);
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  ExecState es(*index, QueryOptions{});
  es.Refresh();
  for (const char* text : {"Not(Row(s=1))", "All()"}) {
    auto q = pql::Parse(text);
    FB_ASSERT_OK(q);
    auto n = PlanRow(es, q->calls[0]);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition) << text;
  }
}

}  // namespace
}  // namespace featurebase::internal
