// GroupBy: counts (and Sum or Count(Distinct) aggregates) per combination
// of rows of its Rows children, added across shards per group; having,
// sort, offset and limit apply when finishing, after the last merge.
#include <algorithm>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/calls/group_by_plan.h"
#include "lib/query/json.h"
#include "lib/query/partial_codec.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

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

// Adds `from`'s count and aggregates into `into` (the same group).
void AddGroup(PartialGroup* into, const PartialGroup& from) {
  into->count += from.count;
  into->sum += from.sum;
  if (from.distinct.empty()) return;
  std::vector<int64_t> d;
  std::set_union(into->distinct.begin(), into->distinct.end(),
                 from.distinct.begin(), from.distinct.end(),
                 std::back_inserter(d));
  into->distinct = std::move(d);
}

}  // namespace

absl::StatusOr<Partial> GroupBy(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(es, c, false));
  const auto& plans = g.plans;
  const auto& candidates = g.candidates;
  GroupsPart part;
  part.width = uint32_t(plans.size());
  uint64_t cap = 0;
  // Having needs whole counts: a partial keeps every group and Finish
  // filters; over the whole index it filters as it goes.
  const bool filter_now = !es.partial;
  const bool need_all = !g.sort.empty() || (g.having && !filter_now);
  const uint64_t want =
      g.limit == UINT64_MAX ? UINT64_MAX : SatAdd(g.limit, g.offset);
  if (!need_all && want != UINT64_MAX) cap = want;
  if (auto all = MutexGroups(es, g)) {
    for (PartialGroup& pg : *all) {
      if (g.previous && pg.rows <= *g.previous) continue;
      if (filter_now && !g.keep(pg)) continue;
      part.groups.push_back(std::move(pg));
    }
    Partial out(std::move(part), cap);
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
  std::vector<PartialGroup>& groups = part.groups;
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
          AddGroup(&m, pg);
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
  Partial out(std::move(part), cap);
  CapPartial(&out);
  return out;
}

absl::StatusOr<QueryResult> FinishGroupBy(ExecState& es, const Call& c,
                                          GroupsPart p) {
  FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(es, c, true));
  if (p.width != g.plans.size())
    return CallError(c, "the partial result groups by other fields");
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

// ---- partial kinds

void GroupsPart::Cap(uint64_t cap) {
  if (groups.size() > cap) groups.resize(cap);
}
void GroupsPart::Merge(const GroupsPart& from) {
  std::vector<PartialGroup> out;
  out.reserve(groups.size() + from.groups.size());
  auto a = groups.begin();
  auto b = from.groups.cbegin();
  while (a != groups.end() || b != from.groups.cend()) {
    if (b == from.groups.cend() || (a != groups.end() && a->rows < b->rows)) {
      out.push_back(std::move(*a++));
    } else if (a == groups.end() || b->rows < a->rows) {
      out.push_back(*b++);
    } else {
      PartialGroup g = std::move(*a++);
      AddGroup(&g, *b++);
      out.push_back(std::move(g));
    }
  }
  groups = std::move(out);
}
void GroupsPart::Encode(std::string* out) const {
  PutFixed<uint32_t>(out, width);
  PutFixed<uint64_t>(out, groups.size());
  for (const PartialGroup& g : groups) {
    for (uint64_t r : g.rows) PutFixed<uint64_t>(out, r);
    PutFixed<uint64_t>(out, g.count);
    PutI128(out, g.sum);
    PutFixed<uint64_t>(out, g.distinct.size());
    for (int64_t v : g.distinct) PutFixed<int64_t>(out, v);
  }
}
absl::StatusOr<GroupsPart> GroupsPart::Decode(PartialReader& r, uint64_t cap) {
  GroupsPart p;
  size_t at = r.offset();
  FB_ASSIGN_OR_RETURN(p.width, r.Fixed<uint32_t>("group width"));
  if (p.width == 0) return r.Bad(at, "group width 0");
  FB_ASSIGN_OR_RETURN(auto n,
                      r.CappedCount(size_t{8} * p.width + 32, cap, "group"));
  p.groups.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    at = r.offset();
    PartialGroup g;
    for (uint32_t k = 0; k < p.width; ++k) {
      FB_ASSIGN_OR_RETURN(auto row, r.Fixed<uint64_t>("group row"));
      g.rows.push_back(row);
    }
    if (!p.groups.empty() && g.rows <= p.groups.back().rows)
      return r.Bad(at, "groups not strictly increasing");
    FB_ASSIGN_OR_RETURN(g.count, r.Fixed<uint64_t>("group count"));
    FB_ASSIGN_OR_RETURN(g.sum, r.I128("group sum"));
    FB_ASSIGN_OR_RETURN(auto m, r.Count(8, "distinct value"));
    g.distinct.reserve(m);
    for (uint64_t k = 0; k < m; ++k) {
      at = r.offset();
      FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("distinct value"));
      if (!g.distinct.empty() && v <= g.distinct.back())
        return r.Bad(at, "distinct values not strictly increasing");
      g.distinct.push_back(v);
    }
    p.groups.push_back(std::move(g));
  }
  return p;
}

}  // namespace featurebase::internal
