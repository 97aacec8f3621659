// Which views a write touches, as FeatureBase's Field.SetBit and ClearBit
// decide it (see /work/shared/reference: standard view, one view per
// quantum unit, existence for set/mutex/bool and time fields with a
// standard view, none for bit-sliced fields). Expectations are written out
// by hand: view names, not keys computed by the code under test.
#include "lib/core/write_views.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/core/time_views.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

std::shared_ptr<FieldState> F(const FieldOptions& o) {
  auto f = NewFieldState("f", o, /*owner=*/1);
  FB_EXPECT_OK(f);
  return *f;
}

std::vector<std::string> Names(const std::vector<uint64_t>& keys) {
  std::vector<std::string> out;
  for (uint64_t k : keys) out.push_back(ViewName(k));
  return out;
}

TimeQuantum Q(std::string_view s) { return *TimeQuantum::Parse(s); }

const absl::CivilSecond kT(2000, 1, 2, 3, 4, 5);

TEST(WriteViewsTest, SetMutexAndBoolWriteStandardAndExistence) {
  for (const FieldOptions& o :
       {FieldOptions::Set(), FieldOptions::Mutex(), FieldOptions::Bool()}) {
    SCOPED_TRACE(FieldTypeName(o.type));
    const WriteViews v = ViewsOfWrite(*F(o), std::nullopt);
    EXPECT_TRUE(v.standard);
    EXPECT_TRUE(v.existence);
    EXPECT_TRUE(v.time.empty());
  }
}

TEST(WriteViewsTest, NonTimeFieldIgnoresTheTime) {
  const WriteViews v = ViewsOfWrite(*F(FieldOptions::Set()), kT);
  EXPECT_TRUE(v.standard);
  EXPECT_TRUE(v.existence);
  EXPECT_TRUE(v.time.empty());
}

TEST(WriteViewsTest, TimeFieldWritesOneViewPerQuantumUnit) {
  const WriteViews v = ViewsOfWrite(*F(FieldOptions::Time(Q("YMDH"))), kT);
  EXPECT_TRUE(v.standard);
  EXPECT_TRUE(v.existence);
  EXPECT_EQ(Names(v.time), (std::vector<std::string>{
                               "standard_2000", "standard_200001",
                               "standard_20000102", "standard_2000010203"}));
}

TEST(WriteViewsTest, TimeViewsFollowTheQuantumLetters) {
  EXPECT_EQ(Names(ViewsOfWrite(*F(FieldOptions::Time(Q("MD"))), kT).time),
            (std::vector<std::string>{"standard_200001", "standard_20000102"}));
  EXPECT_EQ(Names(ViewsOfWrite(*F(FieldOptions::Time(Q("Y"))),
                               absl::CivilSecond(999, 12, 31, 23))
                      .time),
            (std::vector<std::string>{"standard_0999"}));
  EXPECT_EQ(
      Names(ViewsOfWrite(*F(FieldOptions::Time(Q("DH"))),
                         absl::CivilSecond(2023, 11, 5, 0, 59, 59))
                .time),
      (std::vector<std::string>{"standard_20231105", "standard_2023110500"}));
}

TEST(WriteViewsTest, TimeFieldWithoutTimeWritesStandardOnly) {
  const WriteViews v =
      ViewsOfWrite(*F(FieldOptions::Time(Q("YMD"))), std::nullopt);
  EXPECT_TRUE(v.standard);
  EXPECT_TRUE(v.existence);
  EXPECT_TRUE(v.time.empty());
}

TEST(WriteViewsTest, NoStandardViewWritesTimeViewsWithoutExistence) {
  const auto f = F(FieldOptions::Time(Q("YM"), /*no_standard_view=*/true));
  const WriteViews v = ViewsOfWrite(*f, kT);
  EXPECT_FALSE(v.standard);
  EXPECT_FALSE(v.existence);
  EXPECT_EQ(Names(v.time),
            (std::vector<std::string>{"standard_2000", "standard_200001"}));
  // Without a time such a write has nowhere to go.
  const WriteViews none = ViewsOfWrite(*f, std::nullopt);
  EXPECT_FALSE(none.standard);
  EXPECT_FALSE(none.existence);
  EXPECT_TRUE(none.time.empty());
}

TEST(WriteViewsTest, BitSlicedFieldsWriteNoViews) {
  for (const FieldOptions& o :
       {FieldOptions::Int(0, 100), FieldOptions::Decimal(2),
        FieldOptions::Timestamp()}) {
    SCOPED_TRACE(FieldTypeName(o.type));
    const WriteViews v = ViewsOfWrite(*F(o), kT);
    EXPECT_FALSE(v.standard);
    EXPECT_FALSE(v.existence);
    EXPECT_TRUE(v.time.empty());
  }
}

TEST(WriteViewsTest, ClearTakesExistenceOnlyFromSingleRowFields) {
  EXPECT_TRUE(ClearRemovesExistence(*F(FieldOptions::Mutex())));
  EXPECT_TRUE(ClearRemovesExistence(*F(FieldOptions::Bool())));
  EXPECT_FALSE(ClearRemovesExistence(*F(FieldOptions::Set())));
  EXPECT_FALSE(ClearRemovesExistence(*F(FieldOptions::Time(Q("YMD")))));
  EXPECT_FALSE(ClearRemovesExistence(*F(FieldOptions::Int(0, 100))));
}

}  // namespace
}  // namespace featurebase::internal
