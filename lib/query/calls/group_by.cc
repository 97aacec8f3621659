// GroupBy: counts (and Sum or Count(Distinct) aggregates) per combination
// of rows of its Rows children, added across shards per group; having,
// sort, offset and limit apply when finishing, after the last merge.
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// aggregate=Sum(field=f): per group the sum of f, and count counts only
// records with a value; aggregate=Count(Distinct(rc?, field=f)): per
// group the number of distinct values (rows of a set field) of f among
// the group's records (within rc), count unchanged. FeatureBase's rules.
struct Aggregate {
  enum class Kind { kNone, kSum, kDistinct } kind = Kind::kNone;
  const FieldState* field = nullptr;
  std::optional<Node> filter;  // Count(Distinct(rc, ...))
};

// sort="count desc, aggregate asc": FeatureBase's getSorter (keys count,
// aggregate or sum; direction asc or desc, default desc).
struct SortKey {
  bool count = true;  // else the aggregate
  bool desc = true;
};

struct GroupPlan {
  std::vector<RowsPlan> plans;
  std::vector<std::vector<uint64_t>> candidates;
  std::optional<Node> filter;
  Aggregate agg;
  uint64_t limit = UINT64_MAX;
  uint64_t offset = 0;
  std::optional<std::vector<uint64_t>> previous;
  std::function<bool(const PartialGroup&)> keep;
  std::vector<SortKey> sort;
  bool having = false;
};

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

// A group's aggregate as a number: raw sum, or number of distinct values.
__int128 AggValue(const Aggregate& agg, const PartialGroup& g) {
  return agg.kind == Aggregate::Kind::kDistinct ? __int128(g.distinct.size())
                                                : g.sum;
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

// A value of an int or timestamp field as a group "row": offset binary,
// so that groups in row order are groups in value order (FeatureBase
// orders value groups by ascending value).
constexpr uint64_t kValueBias = uint64_t{1} << 63;
uint64_t ValueKey(int64_t raw) { return uint64_t(raw) ^ kValueBias; }
int64_t KeyValue(uint64_t key) { return int64_t(key ^ kValueBias); }

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

// `finishing`: only what Finish needs (no row scans, no filters).
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

// Adds map[entry] for each of a page's entries into `acc`; a 4- or
// 8-byte page holds rows beyond every candidate (all kBad).
template <typename T>
void AddPage(const uint8_t* data, const uint32_t* map, uint32_t* acc) {
  for (uint32_t j = 0; j < ColumnRows::kPageSize; ++j) {
    T v;
    std::memcpy(&v, data + size_t{sizeof(T)} * j, sizeof(T));
    acc[j] += map[v];
  }
}

void MutexGroupsShard(const GroupPlan& g,
                      const std::vector<std::vector<uint32_t>>& maps,
                      size_t total, uint64_t shard,
                      std::vector<uint32_t>* counts) {
  std::vector<const ColumnRows*> tables;
  for (const RowsPlan& p : g.plans) {
    const Fragment* frag = p.field->FindFragment(kStandardView, shard);
    if (frag == nullptr || frag->column_rows() == nullptr) return;
    tables.push_back(frag->column_rows());
  }
  // Four interleaved counters per group: consecutive columns of the same
  // group do not wait on one another's increments. [total]: no group.
  const size_t width = total + 1;
  std::vector<uint32_t> quad(4 * width, 0);
  std::vector<uint32_t> acc(ColumnRows::kPageSize);
  for (int page = 0; page < ColumnRows::kPages; ++page) {
    bool present = true;
    for (const ColumnRows* t : tables)
      present &= t->PageAt(page).data != nullptr;
    if (!present) continue;
    std::fill(acc.begin(), acc.end(), 0);
    bool any = true;
    for (size_t k = 0; k < tables.size() && any; ++k) {
      const ColumnRows::PageView pv = tables[k]->PageAt(page);
      switch (pv.width) {
        case 1:
          AddPage<uint8_t>(pv.data, maps[k].data(), acc.data());
          break;
        case 2:
          AddPage<uint16_t>(pv.data, maps[k].data(), acc.data());
          break;
        default:
          any = false;  // rows >= 0xFFFF: no candidate in this page
          break;
      }
    }
    if (!any) continue;
    const uint32_t t = uint32_t(total);
    for (uint32_t j = 0; j < ColumnRows::kPageSize; j += 4) {
      ++quad[std::min(acc[j], t)];
      ++quad[width + std::min(acc[j + 1], t)];
      ++quad[2 * width + std::min(acc[j + 2], t)];
      ++quad[3 * width + std::min(acc[j + 3], t)];
    }
  }
  counts->assign(width, 0);
  for (size_t x = 0; x < width; ++x) {
    (*counts)[x] =
        quad[x] + quad[width + x] + quad[2 * width + x] + quad[3 * width + x];
  }
}

// GroupBy over 3+ mutex fields, without filter or aggregate: one pass
// over each shard's columns, reading every field's column -> row side
// table a page (4096 columns) at a time and counting into a dense array
// of all candidate row combinations, instead of intersecting row bitmaps
// per group (the intermediate intersections of a 3-field GroupBy are
// sparse arrays that intersect-count slowly). nullopt when this does not
// apply. Groups come out in row order, as the walk's.
std::optional<std::vector<PartialGroup>> MutexGroups(ExecState& es,
                                                     const GroupPlan& g) {
  if (g.filter || g.agg.kind != Aggregate::Kind::kNone || g.plans.size() < 3 ||
      g.plans.size() > 64)
    return std::nullopt;
  constexpr size_t kMaxGroups = 4096;
  size_t total = 1;
  for (size_t k = 0; k < g.plans.size(); ++k) {
    const RowsPlan& p = g.plans[k];
    const std::vector<uint64_t>& cands = g.candidates[k];
    if (p.field->options.type != FieldType::kMutex ||
        p.views != std::vector<uint64_t>{kStandardView}) {
      return std::nullopt;
    }
    if (cands.empty()) return std::vector<PartialGroup>();
    if (cands.back() >= 0xFFFE) return std::nullopt;  // 1- or 2-byte pages
    total *= cands.size();
    if (total > kMaxGroups) return std::nullopt;
  }
  // Per field, side-table entry (row + 1) -> candidate index · stride, or
  // kBad (any sum holding one lands at or above `total`).
  constexpr uint32_t kBad = 1u << 20;
  std::vector<std::vector<uint32_t>> maps(g.plans.size());
  size_t stride = total;
  for (size_t k = 0; k < g.plans.size(); ++k) {
    const std::vector<uint64_t>& cands = g.candidates[k];
    stride /= cands.size();
    maps[k].assign(size_t{1} << 16, kBad);
    for (size_t i = 0; i < cands.size(); ++i)
      maps[k][cands[i] + 1] = uint32_t(i * stride);
  }
  std::vector<uint64_t> sums(total, 0);
  constexpr size_t kChunk = 64;  // shards per pass: bounds memory
  for (size_t begin = 0; begin < es.shards.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, es.shards.size() - begin);
    std::vector<std::vector<uint32_t>> per(n);
    auto one = [&](size_t i) {
      MutexGroupsShard(g, maps, total, es.shards[begin + i], &per[i]);
    };
    es.ParallelFor(n, one);
    for (const auto& counts : per) {
      for (size_t x = 0; x < counts.size() && x < total; ++x)
        sums[x] += counts[x];
    }
  }
  std::vector<PartialGroup> out;
  for (size_t x = 0; x < total; ++x) {
    if (sums[x] == 0) continue;
    PartialGroup pg;
    pg.rows.resize(g.plans.size());
    size_t rest = x;
    for (size_t k = g.plans.size(); k-- > 0;) {
      const size_t m = g.candidates[k].size();
      pg.rows[k] = g.candidates[k][rest % m];
      rest /= m;
    }
    pg.count = sums[x];
    out.push_back(std::move(pg));
  }
  return out;
}

// Distinct values of the aggregate's field among `bits` of `shard`
// (within the Distinct filter), ascending.
std::vector<int64_t> DistinctIn(const ExecState& es, const Aggregate& agg,
                                uint64_t shard, const Roaring32& bits) {
  std::optional<Roaring32> narrowed;
  const Roaring32* b = &bits;
  if (agg.filter) {
    narrowed = Roaring32::And(bits, Eval(es, *agg.filter, shard).get());
    b = &*narrowed;
  }
  std::vector<int64_t> out;
  if (b->IsEmpty()) return out;
  const FieldState& f = *agg.field;
  if (f.bsi) {
    if (const BsiShard* bs = f.bsi_shards.Find(shard)) {
      out = bs->Distinct(b);
      for (int64_t& v : out) v = f.bsi->ToRaw(v);
    }
    return out;
  }
  if (const Fragment* frag = f.FindFragment(kStandardView, shard)) {
    frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
      if (r.Intersects(*b)) out.push_back(int64_t(row));
      return true;
    });
  }
  return out;
}

// Groups whose first row is r0, in one shard, by depth-first
// intersection with early pruning; the last level uses fused counts.
void GroupShard(const ExecState& es, const std::vector<RowsPlan>& plans,
                const std::vector<std::vector<uint64_t>>& candidates,
                const std::optional<Node>& filter, const Aggregate& agg,
                uint64_t shard, uint64_t r0, std::vector<PartialGroup>* out) {
  const bool sum = agg.kind == Aggregate::Kind::kSum;
  const bool distinct = agg.kind == Aggregate::Kind::kDistinct;
  const BsiShard* agg_shard = sum ? agg.field->bsi_shards.Find(shard) : nullptr;
  if (sum && agg_shard == nullptr) return;
  // A finished group: with Sum, only records with a value count.
  auto emit = [&](const std::vector<uint64_t>& rows, const Roaring32& bits,
                  uint64_t plain_count) {
    if (sum) {
      const BsiSum s = agg_shard->Sum(&bits);
      if (s.count > 0)
        out->push_back({rows, s.count, agg.field->bsi->RawSum(s), {}});
      return;
    }
    if (distinct) {
      out->push_back(
          {rows, bits.Cardinality(), 0, DistinctIn(es, agg, shard, bits)});
      return;
    }
    out->push_back({rows, plain_count, 0, {}});
  };
  auto row_bits = [&](size_t level, uint64_t row) {
    Node leaf;
    leaf.field = plans[level].field;
    if (plans[level].values) {
      leaf.kind = NodeKind::kBsi;
      leaf.predicate = leaf.field->bsi->Translate(BsiOp::kEq, KeyValue(row));
      return Eval(es, leaf, shard);
    }
    leaf.kind = NodeKind::kRow;
    leaf.views = plans[level].views;
    leaf.row = row;
    return Eval(es, leaf, shard);
  };
  Bits first = row_bits(0, r0);
  if (first.get().IsEmpty()) return;
  // Without a filter the first row is read in place, not copied.
  Roaring32 filtered;
  const Roaring32* prefix = &first.get();
  if (filter) {
    filtered = Roaring32::And(first.get(), Eval(es, *filter, shard).get());
    if (filtered.IsEmpty()) return;
    prefix = &filtered;
  }
  std::vector<uint64_t> rows{r0};
  std::function<void(const Roaring32&, size_t)> walk = [&](const Roaring32& pre,
                                                           size_t level) {
    if (level == plans.size()) {
      emit(rows, pre, pre.Cardinality());
      return;
    }
    for (uint64_t r : candidates[level]) {
      Bits b = row_bits(level, r);
      if (level + 1 == plans.size()) {
        if (sum || distinct) {
          Roaring32 both = Roaring32::And(pre, b.get());
          if (both.IsEmpty()) continue;
          rows.push_back(r);
          emit(rows, both, 0);
          rows.pop_back();
          continue;
        }
        const uint64_t cnt = Roaring32::AndCardinality(pre, b.get());
        if (cnt > 0) {
          rows.push_back(r);
          emit(rows, pre, cnt);
          rows.pop_back();
        }
        continue;
      }
      Roaring32 next = Roaring32::And(pre, b.get());
      if (next.IsEmpty()) continue;
      rows.push_back(r);
      walk(next, level + 1);
      rows.pop_back();
    }
  };
  walk(*prefix, 1);
}

}  // namespace

absl::StatusOr<Partial> GroupBy(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(es, c, false));
  const auto& plans = g.plans;
  const auto& candidates = g.candidates;
  Partial out;
  out.kind = Partial::Kind::kGroups;
  out.width = uint32_t(plans.size());
  // Having needs whole counts: a partial keeps every group and Finish
  // filters; over the whole index it filters as it goes.
  const bool filter_now = !es.partial;
  const bool need_all = !g.sort.empty() || (g.having && !filter_now);
  const uint64_t want =
      g.limit == UINT64_MAX ? UINT64_MAX : SatAdd(g.limit, g.offset);
  if (!need_all && want != UINT64_MAX) out.cap = want;
  if (auto all = MutexGroups(es, g)) {
    for (PartialGroup& pg : *all) {
      if (g.previous && pg.rows <= *g.previous) continue;
      if (filter_now && !g.keep(pg)) continue;
      out.groups.push_back(std::move(pg));
    }
    CapPartial(&out);
    return out;
  }
  // Walk groups in order of the first field's rows; each step computes all
  // groups under one first-field row across shards, so memory stays
  // bounded by the groups kept plus one row's worth.
  // Without a limit, first-field rows go to the pool in chunks: one pass
  // over the shards per chunk rather than per row (fewer waits for the
  // slowest shard), with memory still bounded by one chunk's groups.
  // When every group is wanted (no limit, offset or previous) the fields
  // may be walked in any order, and the groups put back in the requested
  // order at the end. With three or more fields, fewest candidate rows
  // last puts the densest rows (bitset containers, which intersect-count
  // by probing) at the level that runs most often, instead of merging
  // sparse arrays there (a 3-field taxi GroupBy: 4x faster).
  std::vector<size_t> order(plans.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  if (plans.size() >= 3 && g.limit == UINT64_MAX && g.offset == 0 &&
      !g.previous &&
      std::all_of(candidates.begin(), candidates.end(),
                  [](const auto& rows) { return rows.size() <= 4096; })) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return candidates[a].size() > candidates[b].size();
    });
  }
  const bool reordered = !std::is_sorted(order.begin(), order.end());
  std::vector<RowsPlan> walk_plans;
  std::vector<std::vector<uint64_t>> walk_candidates;
  if (reordered) {
    for (size_t k : order) {
      walk_plans.push_back(plans[k]);
      walk_candidates.push_back(candidates[k]);
    }
  }
  const std::vector<RowsPlan>& wplans = reordered ? walk_plans : plans;
  const std::vector<std::vector<uint64_t>>& wcandidates =
      reordered ? walk_candidates : candidates;
  std::vector<uint64_t> firsts;
  for (uint64_t r0 : wcandidates[0]) {
    if (!g.previous || r0 >= (*g.previous)[0]) firsts.push_back(r0);
  }
  const size_t chunk = need_all || want == UINT64_MAX ? 16 : 1;
  bool enough = false;
  std::vector<PartialGroup>& groups = out.groups;
  for (size_t begin = 0; begin < firsts.size() && !enough; begin += chunk) {
    const size_t n = std::min(chunk, firsts.size() - begin);
    std::vector<std::vector<std::vector<PartialGroup>>> per(
        n, std::vector<std::vector<PartialGroup>>(es.shards.size()));
    es.ForShards([&](size_t i) {
      for (size_t j = 0; j < n; ++j) {
        GroupShard(es, wplans, wcandidates, g.filter, g.agg, es.shards[i],
                   firsts[begin + j], &per[j][i]);
      }
    });
    for (size_t j = 0; j < n && !enough; ++j) {
      std::map<std::vector<uint64_t>, PartialGroup> merged;
      for (auto& v : per[j]) {
        for (auto& pg : v) {
          auto [it, fresh] = merged.try_emplace(pg.rows);
          PartialGroup& m = it->second;
          if (fresh) {
            m = std::move(pg);
            continue;
          }
          m.count += pg.count;
          m.sum += pg.sum;
          if (!pg.distinct.empty()) {
            std::vector<int64_t> d;
            std::set_union(m.distinct.begin(), m.distinct.end(),
                           pg.distinct.begin(), pg.distinct.end(),
                           std::back_inserter(d));
            m.distinct = std::move(d);
          }
        }
      }
      for (auto& [rows, m] : merged) {
        if (g.previous && rows <= *g.previous) continue;
        if (filter_now && !g.keep(m)) continue;
        groups.push_back(std::move(m));
      }
      if (!need_all && groups.size() >= want) enough = true;
    }
  }
  if (reordered) {
    for (PartialGroup& pg : groups) {
      std::vector<uint64_t> rows(pg.rows.size());
      for (size_t k = 0; k < order.size(); ++k) rows[order[k]] = pg.rows[k];
      pg.rows = std::move(rows);
    }
    std::sort(groups.begin(), groups.end(),
              [](const auto& a, const auto& b) { return a.rows < b.rows; });
  }
  CapPartial(&out);
  return out;
}

absl::StatusOr<QueryResult> FinishGroupBy(ExecState& es, const Call& c,
                                          Partial p) {
  FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(es, c, true));
  std::vector<PartialGroup>& groups = p.groups;
  if (g.having)
    std::erase_if(groups, [&](const auto& x) { return !g.keep(x); });
  if (!g.sort.empty()) {
    std::stable_sort(
        groups.begin(), groups.end(),
        [&](const PartialGroup& a, const PartialGroup& b) {
          for (const SortKey& k : g.sort) {
            const __int128 x = k.count ? a.count : AggValue(g.agg, a);
            const __int128 y = k.count ? b.count : AggValue(g.agg, b);
            if (x != y) return k.desc ? x > y : x < y;
          }
          return false;
        });
  }
  const size_t begin = std::min<uint64_t>(g.offset, groups.size());
  const size_t end =
      g.limit >= groups.size() - begin ? groups.size() : begin + g.limit;
  std::string json = "[";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) json += ',';
    json += "{\"group\":[";
    for (size_t k = 0; k < g.plans.size(); ++k) {
      if (k) json += ',';
      const FieldState& f = *g.plans[k].field;
      json += "{\"field\":";
      AppendJsonString(&json, f.name);
      if (g.plans[k].values) {
        json += ",\"value\":" + ValueJson(f, KeyValue(groups[i].rows[k])) + "}";
        continue;
      }
      json += "," + RowIdJson(f, groups[i].rows[k], "rowID", "rowKey") + "}";
    }
    json += fmt::format("],\"count\":{}", groups[i].count);
    // FeatureBase names the aggregate by its kind: "sum" for Sum and
    // "aggregate" for Count(Distinct).
    if (g.agg.kind == Aggregate::Kind::kSum) {
      json += ",\"sum\":" + g.agg.field->bsi->FormatSum(groups[i].sum);
    } else if (g.agg.kind == Aggregate::Kind::kDistinct) {
      json += fmt::format(",\"aggregate\":{}", groups[i].distinct.size());
    }
    json += "}";
  }
  json += "]";
  return ResultAccess::Make(QueryResult::Kind::kGroups, std::move(json));
}

}  // namespace featurebase::internal
