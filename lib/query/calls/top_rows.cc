// TopN and TopK (rows ranked by their records' count, exact per shard and
// added across shards), MinRow and MaxRow (the extreme row holding records).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "lib/core/row_counts.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

absl::StatusOr<Partial> TopN(ExecState& es, const Call& c) {
  const bool topk = c.name == "TopK";
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (IsBsi(f->options.type)) {
    return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                    FieldTypeName(f->options.type)));
  }
  FB_RETURN_IF_ERROR(UintArg(c, topk ? "k" : "n", 0).status());
  FB_RETURN_IF_ERROR(UintArg(c, "threshold", 1).status());
  FB_ASSIGN_OR_RETURN(uint64_t tanimoto, UintArg(c, "tanimotoThreshold", 0));
  if (tanimoto > 100)
    return CallError(c, "Tanimoto Threshold is from 1 to 100 only");
  std::optional<Node> filter;
  if (c.children.size() > 1) return CallError(c, "expects at most one call");
  if (c.children.size() == 1) {
    FB_ASSIGN_OR_RETURN(filter, PlanRow(es, c.children[0]));
  }
  if (const pql::Arg* a = c.Find("filter")) {
    if (a->value.kind != PKind::kCall)
      return CallError(c, "filter must be a call");
    FB_ASSIGN_OR_RETURN(filter, PlanRow(es, *a->value.call));
  }
  // Tanimoto needs each row's size and the filter's (FeatureBase ignores
  // tanimotoThreshold without a filter).
  const bool sizes = !topk && tanimoto > 0 && filter.has_value();
  TimeRange range;
  for (std::string_view key : {"from", "to"}) {
    if (const pql::Arg* a = c.Find(key)) {
      FB_ASSIGN_OR_RETURN(absl::Time t, ParseTimeArg(c, key, a->value));
      (key == "from" ? range.from : range.to) = t;
    }
  }
  FB_ASSIGN_OR_RETURN(std::vector<uint64_t> views,
                      ReadViews(*f, range, c.name + "()"));
  if (range.empty() && !f->has_standard_view()) views = CoarsestTimeViews(*f);
  std::optional<std::set<uint64_t>> ids;
  if (const pql::Arg* a = c.Find("ids")) {
    if (a->value.kind != PKind::kList)
      return CallError(c, "ids must be a list");
    ids.emplace();
    for (const auto& v : a->value.list) {
      FB_ASSIGN_OR_RETURN(Value rv, RowValue(c, *f, v));
      FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                          ResolveRow(*f, rv, c.name + "()"));
      if (id) ids->insert(*id);
    }
  }
  // Per shard exact counts (and sizes), merged.
  struct CountSize {
    uint64_t count = 0, size = 0;
  };
  std::vector<absl::flat_hash_map<uint64_t, CountSize>> per(es.shards.size());
  std::vector<uint64_t> filter_sizes(es.shards.size());
  es.ForShards([&](size_t i) {
    const uint64_t shard = es.shards[i];
    std::optional<Bits> fb;
    if (filter) fb = Eval(es, *filter, shard);
    if (fb && sizes) filter_sizes[i] = fb->get().Cardinality();
    if (fb && fb->get().IsEmpty()) return;
    CountRowsInShard(*f, views, shard, fb ? &fb->get() : nullptr,
                     ids ? &*ids : nullptr, sizes,
                     [&](uint64_t row, uint64_t count, uint64_t size) {
                       CountSize& cs = per[i][row];
                       cs.count += count;
                       cs.size += size;
                     });
  });
  absl::flat_hash_map<uint64_t, CountSize> total;
  Partial p;
  p.kind = Partial::Kind::kPairs;
  for (size_t i = 0; i < per.size(); ++i) {
    p.n += filter_sizes[i];
    for (const auto& [row, cs] : per[i]) {
      CountSize& t = total[row];
      t.count += cs.count;
      t.size += cs.size;
    }
  }
  p.pairs.reserve(total.size());
  for (const auto& [row, cs] : total)
    p.pairs.push_back({row, cs.count, cs.size});
  std::sort(p.pairs.begin(), p.pairs.end(),
            [](const auto& a, const auto& b) { return a.row < b.row; });
  return p;
}

// Threshold (or tanimoto), ranking and n over the merged counts.
absl::StatusOr<QueryResult> FinishTopN(ExecState& es, const Call& c,
                                       Partial p) {
  const bool topk = c.name == "TopK";
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  FB_ASSIGN_OR_RETURN(uint64_t n, UintArg(c, topk ? "k" : "n", 0));
  FB_ASSIGN_OR_RETURN(uint64_t threshold, UintArg(c, "threshold", 1));
  FB_ASSIGN_OR_RETURN(uint64_t tanimoto, UintArg(c, "tanimotoThreshold", 0));
  const bool has_filter = !c.children.empty() || c.Find("filter") != nullptr;
  // FeatureBase: with ids, every listed row is returned (n is ignored).
  if (c.Find("ids") != nullptr) n = 0;
  std::vector<RowCount> out;
  for (const PartialPair& x : p.pairs) {
    if (!topk && tanimoto > 0 && has_filter) {
      // ceil(100·|r∩f| / |r∪f|) > t, in integers: 100·|r∩f| > t·|r∪f|.
      const unsigned __int128 uni = (unsigned __int128)x.size + p.n - x.count;
      if ((unsigned __int128)x.count * 100 <= uni * tanimoto) continue;
    } else if (x.count < threshold) {
      continue;
    }
    out.push_back({x.row, x.count});
  }
  RankRows(&out, n);
  std::string json = "[";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) json += ',';
    json += "{" + RowIdJson(*f, out[i].row) +
            fmt::format(",\"count\":{}}}", out[i].count);
  }
  json += "]";
  return ResultAccess::Make(QueryResult::Kind::kPairs, std::move(json));
}

absl::StatusOr<Partial> MinMaxRow(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  std::optional<Node> filter;
  if (c.children.size() > 1) return CallError(c, "expects at most one call");
  if (c.children.size() == 1) {
    FB_ASSIGN_OR_RETURN(filter, PlanRow(es, c.children[0]));
  }
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (IsBsi(f->options.type)) {
    return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                    FieldTypeName(f->options.type)));
  }
  const bool max = c.name == "MaxRow";
  const std::vector<uint64_t> views = f->has_standard_view()
                                          ? std::vector<uint64_t>{kStandardView}
                                          : CoarsestTimeViews(*f);
  // Per shard: the extreme row holding any (filtered) record, and with a
  // filter the filtered records of every row, to count the winner's.
  struct Local {
    std::optional<uint64_t> best;
    std::vector<std::pair<uint64_t, uint64_t>> counts;  // row, count
  };
  std::vector<Local> per(es.shards.size());
  es.ForShards([&](size_t i) {
    const uint64_t shard = es.shards[i];
    std::optional<Bits> fb;
    if (filter) {
      fb = Eval(es, *filter, shard);
      if (fb->get().IsEmpty()) return;
    }
    Local& l = per[i];
    for (uint64_t vk : views) {
      const Fragment* frag = f->FindFragment(vk, shard);
      if (frag == nullptr || frag->empty()) continue;
      if (!fb) {
        const uint64_t r = max ? frag->rows().MaxKey() : frag->rows().MinKey();
        if (!l.best || (max ? r > *l.best : r < *l.best)) l.best = r;
        continue;
      }
      frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
        const uint64_t cnt = r.AndCardinality(fb->get());
        if (cnt == 0) return true;
        l.counts.emplace_back(row, cnt);
        if (!l.best || (max ? row > *l.best : row < *l.best)) l.best = row;
        return true;
      });
    }
  });
  Partial p;
  p.kind = max ? Partial::Kind::kMaxRow : Partial::Kind::kMinRow;
  p.n = filter ? 1 : 0;
  for (const Local& l : per) {
    if (l.best && (!p.has || (max ? *l.best > p.id : *l.best < p.id))) {
      p.has = true;
      p.id = *l.best;
    }
  }
  if (p.has) {
    // FeatureBase reports count 1 without a filter; with one, the
    // filtered records in that row.
    p.count = filter ? 0 : 1;
    if (filter) {
      for (const Local& l : per) {
        for (auto [row, cnt] : l.counts) {
          if (row == p.id) p.count += cnt;
        }
      }
    }
  }
  return p;
}

absl::StatusOr<QueryResult> FinishMinMaxRow(ExecState& es, const Call& c,
                                            Partial p) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  const uint64_t row = p.has ? p.id : 0, count = p.has ? p.count : 0;
  std::string json =
      "{" + RowIdJson(*f, row) + fmt::format(",\"count\":{}}}", count);
  return ResultAccess::Make(QueryResult::Kind::kRowPair, std::move(json));
}

}  // namespace featurebase::internal
