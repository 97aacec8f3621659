// The call table: one row per PQL call. The dispatcher (executor.cc), the
// partial refusals (here and in plan.cc) and the list of calls that cannot
// run as partials in include/featurebase/partial.h all come from it
// (call_table_test checks the header against it).
#include <algorithm>

#include "lib/query/calls.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"

namespace featurebase::internal {

namespace {

using U = CallUse;
using N = Nesting;

std::vector<CallSpec> MakeTable() {
  // clang-format off
  std::vector<CallSpec> t = {
    // name            use       plan            nesting            compute                 finish          run
    {"All",            U::kRead, PlanAll,        N::kTopLevelIfLimit, ComputeAll,         FinishSliced,   nullptr},
    {"Clear",          U::kWrite, nullptr,       N::kAnywhere,      nullptr,                nullptr,        SetClear},
    {"ClearRow",       U::kWrite, nullptr,       N::kAnywhere,      nullptr,                nullptr,        ClearRow},
    {"ConstRow",       U::kRead, PlanConstRow,   N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Count",          U::kRead, nullptr,        N::kAnywhere,      ComputeCount,           FinishCount,    nullptr},
    {"Delete",         U::kWrite, nullptr,       N::kAnywhere,      nullptr,                nullptr,        Delete},
    {"Difference",     U::kRead, PlanSetOp,      N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Distinct",       U::kRead, PlanDistinct,   N::kTopLevel,      ComputeDistinct,        FinishDistinct, nullptr},
    {"Extract",        U::kRead, nullptr,        N::kAnywhere,      Extract,                nullptr,        nullptr},
    {"FieldValue",     U::kRead, nullptr,        N::kAnywhere,      FieldValueCall,         nullptr,        nullptr},
    {"GroupBy",        U::kRead, nullptr,        N::kAnywhere,      GroupBy,                nullptr,        nullptr},
    {"IncludesColumn", U::kRead, nullptr,        N::kAnywhere,      ComputeIncludesColumn,  nullptr,        nullptr},
    {"Intersect",      U::kRead, PlanSetOp,      N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Limit",          U::kRead, PlanLimit,      N::kTopLevel,      ComputeSliced,          FinishSliced,   nullptr},
    {"Max",            U::kRead, nullptr,        N::kAnywhere,      SumMinMax,              nullptr,        nullptr},
    {"MaxRow",         U::kRead, nullptr,        N::kAnywhere,      MinMaxRow,              nullptr,        nullptr},
    {"Min",            U::kRead, nullptr,        N::kAnywhere,      SumMinMax,              nullptr,        nullptr},
    {"MinRow",         U::kRead, nullptr,        N::kAnywhere,      MinMaxRow,              nullptr,        nullptr},
    {"Not",            U::kRead, PlanNot,        N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Percentile",     U::kWhole, nullptr,       N::kAnywhere,      nullptr,                nullptr,        Percentile},
    {"Range",          U::kRead, PlanRowCall,    N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Row",            U::kRead, PlanRowCall,    N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Rows",           U::kRead, nullptr,        N::kAnywhere,      ComputeRows,            nullptr,        nullptr},
    {"Set",            U::kWrite, nullptr,       N::kAnywhere,      nullptr,                nullptr,        SetClear},
    {"Shift",          U::kRead, PlanShift,      N::kTopLevel,      nullptr,                nullptr,        nullptr},
    {"Sort",           U::kRead, nullptr,        N::kAnywhere,      Sort,                   nullptr,        nullptr},
    {"Store",          U::kWrite, nullptr,       N::kAnywhere,      nullptr,                nullptr,        Store},
    {"Sum",            U::kRead, nullptr,        N::kAnywhere,      SumMinMax,              nullptr,        nullptr},
    {"TopK",           U::kRead, nullptr,        N::kAnywhere,      TopN,                   nullptr,        nullptr},
    {"TopN",           U::kRead, nullptr,        N::kAnywhere,      TopN,                   nullptr,        nullptr},
    {"Union",          U::kRead, PlanSetOp,      N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"UnionRows",      U::kRead, PlanUnionRows,  N::kAnywhere,      nullptr,                nullptr,        nullptr},
    {"Xor",            U::kRead, PlanSetOp,      N::kAnywhere,      nullptr,                nullptr,        nullptr},
  };
  // clang-format on
  return t;
}

}  // namespace

const std::vector<CallSpec>& CallTable() {
  static const std::vector<CallSpec>* table =
      new std::vector<CallSpec>(MakeTable());
  return *table;
}

const CallSpec* FindCall(std::string_view name) {
  const std::vector<CallSpec>& t = CallTable();
  auto it = std::lower_bound(
      t.begin(), t.end(), name,
      [](const CallSpec& s, std::string_view n) { return s.name < n; });
  return it != t.end() && it->name == name ? &*it : nullptr;
}

bool NestsInPartial(const CallSpec& spec, const pql::Call& c) {
  switch (spec.nesting) {
    case Nesting::kAnywhere:
      return true;
    case Nesting::kTopLevel:
      return false;
    case Nesting::kTopLevelIfLimit:
      return c.Find("limit") == nullptr && c.Find("offset") == nullptr;
  }
  return true;
}

absl::StatusOr<QueryResult> FinishByKind(ExecState& es, const pql::Call& c,
                                         Partial p) {
  struct Finisher {
    ExecState& es;
    const pql::Call& c;
    absl::StatusOr<QueryResult> operator()(RowPart& b) {
      return FinishRow(es, c, std::move(b));
    }
    absl::StatusOr<QueryResult> operator()(CountPart& b) {
      return CountResult(b.n);
    }
    absl::StatusOr<QueryResult> operator()(IncludesPart& b) {
      return BoolResult(b.included);
    }
    absl::StatusOr<QueryResult> operator()(SumPart& b) {
      return FinishSum(es, c, b);
    }
    absl::StatusOr<QueryResult> operator()(MinPart& b) {
      return FinishValue(es, c, b.has, b.value, b.count);
    }
    absl::StatusOr<QueryResult> operator()(MaxPart& b) {
      return FinishValue(es, c, b.has, b.value, b.count);
    }
    absl::StatusOr<QueryResult> operator()(FieldValuePart& b) {
      return FinishValue(es, c, b.has, b.value, 1);
    }
    absl::StatusOr<QueryResult> operator()(PairsPart& b) {
      return FinishTopN(es, c, std::move(b));
    }
    absl::StatusOr<QueryResult> operator()(RowIdsPart& b) {
      return FinishRows(es, c, std::move(b));
    }
    absl::StatusOr<QueryResult> operator()(GroupsPart& b) {
      return FinishGroupBy(es, c, std::move(b));
    }
    absl::StatusOr<QueryResult> operator()(SortedPart& b) {
      return FinishSort(es, c, b);
    }
    absl::StatusOr<QueryResult> operator()(TablePart& b) {
      return FinishExtract(es, c, b);
    }
    absl::StatusOr<QueryResult> operator()(MinRowPart& b) {
      return FinishMinMaxRow(es, c, b.has, b.id, b.count);
    }
    absl::StatusOr<QueryResult> operator()(MaxRowPart& b) {
      return FinishMinMaxRow(es, c, b.has, b.id, b.count);
    }
    absl::StatusOr<QueryResult> operator()(ValuesPart& b) {
      return FinishDistinctValues(es, c, std::move(b));
    }
  };
  return std::visit(Finisher{es, c}, p.body);
}

}  // namespace featurebase::internal
