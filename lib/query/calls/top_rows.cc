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
#include "lib/query/partial_codec.h"
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
  PairsPart p;
  for (size_t i = 0; i < per.size(); ++i) {
    p.filter_size += filter_sizes[i];
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
  return Partial(std::move(p));
}

// Threshold (or tanimoto), ranking and n over the merged counts.
absl::StatusOr<QueryResult> FinishTopN(ExecState& es, const Call& c,
                                       PairsPart p) {
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
      const unsigned __int128 uni =
          (unsigned __int128)x.size + p.filter_size - x.count;
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
  MinRowPart p;  // the fields of MaxRowPart too
  p.filtered = filter.has_value();
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
  if (max) return Partial(MaxRowPart{p.has, p.id, p.count, p.filtered});
  return Partial(p);
}

absl::StatusOr<QueryResult> FinishMinMaxRow(ExecState& es, const Call& c,
                                            bool has, uint64_t id,
                                            uint64_t count) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  const uint64_t row = has ? id : 0;
  if (!has) count = 0;
  std::string json =
      "{" + RowIdJson(*f, row) + fmt::format(",\"count\":{}}}", count);
  return ResultAccess::Make(QueryResult::Kind::kRowPair, std::move(json));
}

// ---- partial kinds

void PairsPart::Merge(const PairsPart& from) {
  filter_size += from.filter_size;
  std::vector<PartialPair> out;
  out.reserve(pairs.size() + from.pairs.size());
  auto a = pairs.cbegin();
  auto b = from.pairs.cbegin();
  while (a != pairs.cend() || b != from.pairs.cend()) {
    if (b == from.pairs.cend() || (a != pairs.cend() && a->row < b->row)) {
      out.push_back(*a++);
    } else if (a == pairs.cend() || b->row < a->row) {
      out.push_back(*b++);
    } else {
      out.push_back({a->row, a->count + b->count, a->size + b->size});
      ++a;
      ++b;
    }
  }
  pairs = std::move(out);
}
void PairsPart::Encode(std::string* out) const {
  PutFixed<uint64_t>(out, filter_size);
  PutFixed<uint64_t>(out, pairs.size());
  for (const PartialPair& x : pairs) {
    PutFixed<uint64_t>(out, x.row);
    PutFixed<uint64_t>(out, x.count);
    PutFixed<uint64_t>(out, x.size);
  }
}
absl::StatusOr<PairsPart> PairsPart::Decode(PartialReader& r, uint64_t) {
  PairsPart p;
  FB_ASSIGN_OR_RETURN(p.filter_size, r.Fixed<uint64_t>("filter size"));
  FB_ASSIGN_OR_RETURN(auto n, r.Count(24, "pair"));
  p.pairs.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    FB_ASSIGN_OR_RETURN(auto row, r.Fixed<uint64_t>("pair"));
    FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("pair"));
    FB_ASSIGN_OR_RETURN(auto size, r.Fixed<uint64_t>("pair"));
    if (!p.pairs.empty() && row <= p.pairs.back().row)
      return r.Bad(at, "pair rows not strictly increasing");
    p.pairs.push_back({row, count, size});
  }
  return p;
}

template <PartialKind K>
void ExtremeRowPart<K>::Merge(const ExtremeRowPart& from) {
  if (!from.has) return;
  const bool is_min = K == PartialKind::kMinRow;
  if (!has || (is_min ? from.id < id : from.id > id)) {
    has = true;
    id = from.id;
    count = from.count;
    filtered = from.filtered;
  } else if (from.id == id && from.filtered) {
    count += from.count;  // with a filter: records in the row
  }
}
template <PartialKind K>
void ExtremeRowPart<K>::Encode(std::string* out) const {
  PutFlag(out, has);
  PutFixed<uint64_t>(out, id);
  PutFixed<uint64_t>(out, count);
  PutFlag(out, filtered);
}
template <PartialKind K>
absl::StatusOr<ExtremeRowPart<K>> ExtremeRowPart<K>::Decode(PartialReader& r,
                                                            uint64_t) {
  ExtremeRowPart p;
  FB_ASSIGN_OR_RETURN(p.has, r.Flag("presence"));
  FB_ASSIGN_OR_RETURN(p.id, r.Fixed<uint64_t>("row"));
  FB_ASSIGN_OR_RETURN(p.count, r.Fixed<uint64_t>("count"));
  FB_ASSIGN_OR_RETURN(p.filtered, r.Flag("filter flag"));
  return p;
}
template struct ExtremeRowPart<PartialKind::kMinRow>;
template struct ExtremeRowPart<PartialKind::kMaxRow>;

}  // namespace featurebase::internal
