// GroupBy's arguments as a plan: the Rows children and their candidate
// rows (values, for int and timestamp fields), filter, aggregate, having
// (FeatureBase's satisfiesCondition), sort (its getSorter), offset, limit
// and previous.
#include "lib/query/calls/group_by_plan.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// Pieces of `s` between any of `seps`, empty pieces dropped if `skip`.
std::vector<std::string_view> Split(std::string_view s, std::string_view seps,
                                    bool skip) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || seps.find(s[i]) != std::string_view::npos) {
      if (!skip || i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// `finishing`: only what Finish needs (no filter evaluation).
absl::StatusOr<Aggregate> PlanAggregate(ExecState& es, const Call& c,
                                        bool finishing) {
  Aggregate agg;
  const pql::Arg* a = c.Find("aggregate");
  if (a == nullptr) return agg;
  if (a->value.kind == PKind::kCall && a->value.call->name == "Sum") {
    agg.kind = Aggregate::Kind::kSum;
    FB_ASSIGN_OR_RETURN(agg.field, ValueField(es, *a->value.call));
    if (agg.field->options.type == FieldType::kTimestamp) {
      return CallError(
          c, fmt::format("cannot sum timestamp field \"{}\"", agg.field->name));
    }
    return agg;
  }
  if (a->value.kind == PKind::kCall && a->value.call->name == "Count" &&
      a->value.call->children.size() == 1 &&
      a->value.call->children[0].name == "Distinct" &&
      a->value.call->args.empty()) {
    const Call& d = a->value.call->children[0];
    agg.kind = Aggregate::Kind::kDistinct;
    FB_RETURN_IF_ERROR(SameIndexArg(es, d));
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(d));
    FB_ASSIGN_OR_RETURN(agg.field, es.Field(d, name));
    if (agg.field->options.type == FieldType::kTime &&
        !agg.field->has_standard_view()) {
      return CallError(d,
                       fmt::format("field \"{}\" has no standard view", name));
    }
    if (d.children.size() > 1) return CallError(d, "expects at most one call");
    if (d.children.size() == 1 && !finishing) {
      FB_ASSIGN_OR_RETURN(agg.filter, PlanRow(es, d.children[0]));
    }
    return agg;
  }
  return CallError(c,
                   "aggregate must be Sum(field=...) or "
                   "Count(Distinct(field=...))");
}

absl::StatusOr<std::vector<SortKey>> PlanSort(const Call& c,
                                              const Aggregate& agg) {
  std::vector<SortKey> keys;
  const pql::Arg* a = c.Find("sort");
  if (a == nullptr) return keys;
  if (a->value.kind != PKind::kString)
    return CallError(c, "sort must be a string");
  for (std::string_view part : Split(a->value.s, ",", false)) {
    std::vector<std::string_view> words = Split(part, " \t", true);
    if (words.empty()) {
      return CallError(c, fmt::format("invalid sorting directive \"{}\"",
                                      std::string(part)));
    }
    SortKey k;
    if (words[0] == "count") {
      k.count = true;
    } else if (words[0] == "aggregate" || words[0] == "sum") {
      if (agg.kind == Aggregate::Kind::kNone)
        return CallError(c, "sorting on the aggregate needs aggregate=");
      k.count = false;
    } else {
      return CallError(c, fmt::format("sorting is only supported on count, "
                                      "aggregate, or sum, not \"{}\"",
                                      std::string(words[0])));
    }
    if (words.size() > 2) {
      return CallError(c, fmt::format("sort directive \"{}\" has too many "
                                      "elements",
                                      std::string(part)));
    }
    if (words.size() == 2) {
      if (words[1] == "asc") {
        k.desc = false;
      } else if (words[1] != "desc") {
        return CallError(c, fmt::format("unknown sort direction \"{}\"",
                                        std::string(words[1])));
      }
    }
    keys.push_back(k);
  }
  return keys;
}

// having=Condition(count <op> n) or Condition(sum <op> v) (the aggregate;
// v in the Sum field's units), as FeatureBase's satisfiesCondition.
absl::StatusOr<std::function<bool(const PartialGroup&)>> HavingPredicate(
    const Call& c, const Aggregate& agg) {
  const pql::Arg* a = c.Find("having");
  if (a == nullptr) {
    return std::function<bool(const PartialGroup&)>(
        [](const PartialGroup&) { return true; });
  }
  if (a->value.kind != PKind::kCall || a->value.call->name != "Condition" ||
      a->value.call->args.size() != 1 ||
      a->value.call->args[0].value.kind != PKind::kCondition ||
      (a->value.call->args[0].key != "count" &&
       a->value.call->args[0].key != "sum")) {
    return CallError(c,
                     "having must be Condition(count <op> value) or "
                     "Condition(sum <op> value)");
  }
  const bool on_count = a->value.call->args[0].key == "count";
  if (!on_count && agg.kind == Aggregate::Kind::kNone)
    return CallError(c, "having on sum needs aggregate=");
  const pql::Condition h = *a->value.call->args[0].value.cond;
  auto num = [&](const pql::Value& v) -> absl::StatusOr<__int128> {
    if (!on_count && agg.kind == Aggregate::Kind::kSum) {
      FB_ASSIGN_OR_RETURN(const PredicateRaw p,
                          PredicateValue(c, *agg.field, v));
      if (!p.exact) {
        return CallError(c,
                         fmt::format("having value {} has more than {} decimal "
                                     "places for field \"{}\"",
                                     LiteralText(v), agg.field->bsi->scale(),
                                     agg.field->name));
      }
      return p.raw;
    }
    if (v.kind == PKind::kInt) return __int128(v.i);
    if (v.kind == PKind::kUint) return __int128(v.u);
    return CallError(c, fmt::format("having compares {} with integers",
                                    on_count ? "count" : "the aggregate"));
  };
  FB_ASSIGN_OR_RETURN(__int128 lo, num(h.value));
  __int128 hi = 0;
  if (h.op >= pql::Op::kBetweenLtLt) {
    FB_ASSIGN_OR_RETURN(hi, num(h.value2));
  }
  const pql::Op op = h.op;
  const Aggregate::Kind agg_kind = agg.kind;
  return std::function<bool(const PartialGroup&)>([=](const PartialGroup& gr) {
    const __int128 x = on_count ? __int128(gr.count)
                                : (agg_kind == Aggregate::Kind::kDistinct
                                       ? __int128(gr.distinct.size())
                                       : gr.sum);
    switch (op) {
      case pql::Op::kEq:
        return x == lo;
      case pql::Op::kNeq:
        return x != lo;
      case pql::Op::kLt:
        return x < lo;
      case pql::Op::kLte:
        return x <= lo;
      case pql::Op::kGt:
        return x > lo;
      case pql::Op::kGte:
        return x >= lo;
      case pql::Op::kBetweenLtLt:
        return lo < x && x < hi;
      case pql::Op::kBetweenLteLt:
        return lo <= x && x < hi;
      case pql::Op::kBetweenLtLte:
        return lo < x && x <= hi;
      case pql::Op::kBetweenLteLte:
        return lo <= x && x <= hi;
    }
    return false;
  });
}

// Rows(f) of GroupBy on a value field. FeatureBase groups int and
// timestamp fields by value but refuses decimals, and its value rows take
// no limit, column, like, in or previous (those run Rows() on its own,
// which refuses value fields; previous would seek a shard-local index).
absl::StatusOr<RowsPlan> PlanValueRows(const Call& k, const FieldState& f) {
  if (f.options.type == FieldType::kDecimal) {
    return CallError(k, fmt::format("cannot group by decimal field \"{}\" "
                                    "(only int and timestamp value fields)",
                                    f.name));
  }
  for (const pql::Arg& a : k.args) {
    if (a.key == "_field" || a.key == "field") continue;
    return CallError(k,
                     fmt::format("argument \"{}\" is not supported on "
                                 "{} field \"{}\" in GroupBy",
                                 a.key, FieldTypeName(f.options.type), f.name));
  }
  RowsPlan p;
  p.field = &f;
  p.values = true;
  return p;
}

// The distinct values of a value field over the visited shards, as keys,
// ascending.
std::vector<uint64_t> ValueKeys(ExecState& es, const FieldState& f) {
  std::vector<std::vector<int64_t>> per(es.shards.size());
  es.ForShards([&](size_t i) {
    if (const BsiShard* bs = f.bsi_shards.Find(es.shards[i]))
      per[i] = bs->Distinct(nullptr);
  });
  std::vector<uint64_t> keys;
  for (const auto& v : per) {
    for (int64_t x : v) keys.push_back(ValueKey(f.bsi->ToRaw(x)));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

__int128 AggValue(const Aggregate& agg, const PartialGroup& g) {
  return agg.kind == Aggregate::Kind::kDistinct ? __int128(g.distinct.size())
                                                : g.sum;
}

absl::StatusOr<GroupPlan> PlanGroupBy(ExecState& es, const Call& c,
                                      bool finishing) {
  GroupPlan g;
  if (c.children.empty())
    return CallError(c, "requires at least one Rows call");
  for (const Call& k : c.children) {
    if (k.name != "Rows") return CallError(c, "children must be Rows calls");
    if (es.partial && (k.Find("limit") || k.Find("column"))) {
      return CallError(c,
                       "Rows children with limit or column cannot run "
                       "as a partial result (they depend on every "
                       "shard)");
    }
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(k));
    FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(k, name));
    RowsPlan p;
    std::vector<uint64_t> rows;
    if (IsBsi(f->options.type)) {
      FB_ASSIGN_OR_RETURN(p, PlanValueRows(k, *f));
      if (!finishing) rows = ValueKeys(es, *f);
    } else {
      FB_ASSIGN_OR_RETURN(p, PlanRows(es, k));
      if (!finishing) {
        FB_ASSIGN_OR_RETURN(rows, RunRows(es, p));
      }
    }
    g.plans.push_back(std::move(p));
    g.candidates.push_back(std::move(rows));
  }
  if (const pql::Arg* a = c.Find("filter"); a != nullptr && !finishing) {
    if (a->value.kind != PKind::kCall)
      return CallError(c, "filter must be a call");
    FB_ASSIGN_OR_RETURN(g.filter, PlanRow(es, *a->value.call));
  }
  FB_ASSIGN_OR_RETURN(g.agg, PlanAggregate(es, c, finishing));
  FB_ASSIGN_OR_RETURN(g.limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(g.offset, UintArg(c, "offset", 0));
  if (const pql::Arg* a = c.Find("previous")) {
    if (a->value.kind != PKind::kList ||
        a->value.list.size() != g.plans.size()) {
      return CallError(c, "previous must list one row per Rows call");
    }
    g.previous.emplace();
    for (size_t i = 0; i < g.plans.size(); ++i) {
      if (g.plans[i].values) {
        return CallError(c, fmt::format("previous is not supported with "
                                        "value field \"{}\"",
                                        g.plans[i].field->name));
      }
      FB_ASSIGN_OR_RETURN(Value rv,
                          RowValue(c, *g.plans[i].field, a->value.list[i]));
      FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                          ResolveRow(*g.plans[i].field, rv, "GroupBy()"));
      g.previous->push_back(id.value_or(0));
    }
  }
  FB_ASSIGN_OR_RETURN(g.keep, HavingPredicate(c, g.agg));
  g.having = c.Find("having") != nullptr;
  FB_ASSIGN_OR_RETURN(g.sort, PlanSort(c, g.agg));
  return g;
}

}  // namespace featurebase::internal
