// Values of int, decimal and timestamp fields: Sum, Min and Max (partials
// that add sums and keep extremes with their tie counts), FieldValue, Sort
// (records ordered by value) and Percentile (which searches the value range
// with counts over every shard, so it needs the whole index at once).
#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bsi/bsi_field.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/partial_codec.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// Sort's output order: by value (descending when `desc`), ties by record.
bool SortedBefore(bool desc, const std::pair<int64_t, uint64_t>& a,
                  const std::pair<int64_t, uint64_t>& b) {
  if (a.first != b.first) return desc ? a.first > b.first : a.first < b.first;
  return a.second < b.second;
}

}  // namespace

absl::StatusOr<Partial> SumMinMax(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(es, c));
  const BsiFieldSpec& spec = *f->bsi;
  if (c.name == "Sum") {
    if (f->options.type == FieldType::kTimestamp) {
      return CallError(
          c, fmt::format("cannot sum timestamp field \"{}\"", f->name));
    }
    std::vector<BsiSum> per(es.shards.size());
    es.ForShards([&](size_t i) {
      const BsiShard* bs = f->bsi_shards.Find(es.shards[i]);
      if (bs == nullptr) return;
      if (filter) {
        Bits fb = Eval(es, *filter, es.shards[i]);
        per[i] = bs->Sum(&fb.get());
      } else {
        per[i] = bs->Sum(nullptr);
      }
    });
    BsiSum total;
    for (const BsiSum& s : per) {
      total.sum += s.sum;
      total.count += s.count;
    }
    return Partial(SumPart{spec.RawSum(total), total.count});
  }
  const bool is_min = c.name == "Min";
  std::vector<std::optional<BsiExtreme>> per(es.shards.size());
  es.ForShards([&](size_t i) {
    const BsiShard* bs = f->bsi_shards.Find(es.shards[i]);
    if (bs == nullptr) return;
    std::optional<Bits> fb;
    if (filter) fb = Eval(es, *filter, es.shards[i]);
    const Roaring32* fp = fb ? &fb->get() : nullptr;
    per[i] = is_min ? bs->Min(fp) : bs->Max(fp);
  });
  std::optional<BsiExtreme> best;
  for (const auto& e : per) {
    if (!e) continue;
    if (!best || (is_min ? e->value < best->value : e->value > best->value)) {
      best = e;
    } else if (e->value == best->value) {
      best->count += e->count;  // ties add their counts
    }
  }
  MinPart p;  // the fields of MaxPart too
  if (best) {
    p.has = true;
    p.value = spec.ToRaw(best->value);
    p.count = best->count;
  }
  if (!is_min) return Partial(MaxPart{p.has, p.value, p.count});
  return Partial(p);
}

absl::StatusOr<Partial> FieldValueCall(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column", *es.st));
  FieldValuePart p;
  if (es.restricted && !es.Visits(ShardOf(col))) return Partial(p);
  const BsiShard* bs = f->bsi_shards.Find(ShardOf(col));
  const std::optional<int64_t> v =
      bs ? bs->Value(OffsetInShard(col)) : std::nullopt;
  if (v) {
    p.has = true;
    p.value = f->bsi->ToRaw(*v);
  }
  return Partial(p);
}

absl::StatusOr<QueryResult> FinishSum(ExecState& es, const Call& c,
                                      const SumPart& p) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  return ValCount(f->bsi->FormatSum(p.sum), p.count);
}

absl::StatusOr<QueryResult> FinishValue(ExecState& es, const Call& c, bool has,
                                        int64_t value, uint64_t count) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  if (!has) return ValCount("0", 0);
  return ValCount(ValueJson(*f, value), count);
}

absl::StatusOr<QueryResult> Percentile(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(es, c));
  const pql::Arg* nth_arg = c.Find("nth");
  if (nth_arg == nullptr) return CallError(c, "nth required");
  double nth;
  if (nth_arg->value.kind == PKind::kInt) {
    nth = double(nth_arg->value.i);
  } else if (nth_arg->value.kind == PKind::kDecimal) {
    nth = double(nth_arg->value.d.unscaled);
    for (int i = 0; i < nth_arg->value.d.scale; ++i) nth /= 10;
  } else {
    return CallError(c, "nth must be a number");
  }
  if (!(nth >= 0 && nth <= 100))
    return CallError(c, "nth must be between 0 and 100");
  // Per shard filter bits, evaluated once; the search itself is lib/bsi's.
  std::vector<std::optional<Roaring32>> fbits(es.shards.size());
  if (filter) {
    es.ForShards(
        [&](size_t i) { fbits[i] = Eval(es, *filter, es.shards[i]).Take(); });
  }
  std::vector<BsiShardInput> inputs;
  for (size_t i = 0; i < es.shards.size(); ++i) {
    if (const BsiShard* bs = f->bsi_shards.Find(es.shards[i]))
      inputs.push_back({bs, fbits[i] ? &*fbits[i] : nullptr});
  }
  auto got = FieldPercentile(*f->bsi, inputs, nth);
  if (!got.ok()) return Annotate(got.status(), "Percentile()");
  if (!got->has_value())
    return ResultAccess::Make(QueryResult::Kind::kNull, "null");
  return ValCount(ValueJson(*f, **got), 1);
}

namespace {

// Sort keys of the rows of a bool or mutex field: false (0) before true
// (1); a mutex's row ids, or on a keyed mutex the rank of each row's key
// among the keys of the rows held (FeatureBase compares keyed mutex values
// as strings). Ranks hold for one snapshot only, so a partial refuses
// keyed mutexes.
absl::StatusOr<std::vector<std::pair<uint64_t, int64_t>>> RowSortKeys(
    ExecState& es, const Call& c, const FieldState& f) {
  std::vector<std::pair<uint64_t, int64_t>> keys;
  if (f.options.type == FieldType::kBool) return keys;
  if (f.row_keys && es.partial) {
    return CallError(c, fmt::format("sorting by keyed mutex field \"{}\" "
                                    "cannot run as a partial result (key "
                                    "order spans every shard)",
                                    f.name));
  }
  if (!f.row_keys) return keys;
  RowsPlan rp;
  rp.field = &f;
  rp.views = {kStandardView};
  FB_ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RunRows(es, rp));
  std::vector<std::pair<std::string, uint64_t>> named;
  for (uint64_t r : rows) {
    auto key = f.row_keys->TranslateId(r);
    named.emplace_back(key.ok() ? *key : std::string(), r);
  }
  std::sort(named.begin(), named.end());
  for (size_t i = 0; i < named.size(); ++i)
    keys.emplace_back(named[i].second, int64_t(i));
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

// Records ordered by a value field, or by a bool or mutex field's rows as
// FeatureBase's executeSortShard (ties by record id), then sliced; records
// without a value are left out.
absl::StatusOr<Partial> Sort(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  const bool by_rows = f->options.type == FieldType::kBool ||
                       f->options.type == FieldType::kMutex;
  if (!by_rows) {
    FB_ASSIGN_OR_RETURN(f, ValueField(es, c));
  }
  std::vector<std::pair<uint64_t, int64_t>> row_keys;
  if (by_rows) {
    FB_ASSIGN_OR_RETURN(row_keys, RowSortKeys(es, c, *f));
  }
  FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(es, c));
  bool desc = false;
  if (const pql::Arg* a = c.Find("sort-desc")) {
    if (a->value.kind != PKind::kBool)
      return CallError(c, "sort-desc must be true or false");
    desc = a->value.b;
  }
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  std::vector<std::vector<std::pair<int64_t, uint64_t>>> per(es.shards.size());
  auto sort_key = [&](uint64_t row) {
    if (row_keys.empty()) return int64_t(row);
    auto it = std::lower_bound(row_keys.begin(), row_keys.end(),
                               std::pair<uint64_t, int64_t>(row, INT64_MIN));
    return it != row_keys.end() && it->first == row ? it->second : INT64_MAX;
  };
  es.ForShards([&](size_t i) {
    const uint64_t base = ShardStart(es.shards[i]);
    std::optional<Bits> fb;
    if (by_rows) {
      const Fragment* frag = f->FindFragment(kStandardView, es.shards[i]);
      if (frag == nullptr) return;
      if (filter) fb = Eval(es, *filter, es.shards[i]);
      frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
        const Bits b = Bits::Of(r);
        Roaring32 both;
        const Roaring32* held = &b.get();
        if (fb) {
          both = Roaring32::And(b.get(), fb->get());
          held = &both;
        }
        const int64_t key = sort_key(row);
        held->ForEach(
            [&](uint32_t off) { per[i].emplace_back(key, base + off); });
        return true;
      });
      return;
    }
    const BsiShard* bs = f->bsi_shards.Find(es.shards[i]);
    if (bs == nullptr) return;
    if (filter) fb = Eval(es, *filter, es.shards[i]);
    for (auto [off, v] : bs->Values(fb ? &fb->get() : nullptr)) {
      per[i].emplace_back(f->bsi->ToRaw(v), base + off);
    }
  });
  uint64_t cap = limit == UINT64_MAX ? 0 : SatAdd(offset, limit);
  if (cap == UINT64_MAX) cap = 0;
  SortedPart p;
  p.desc = desc;
  auto& all = p.sorted;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  auto before = [&](const auto& a, const auto& b) {
    return SortedBefore(desc, a, b);
  };
  if (cap != 0 && cap < all.size()) {
    std::partial_sort(all.begin(), all.begin() + cap, all.end(), before);
    all.resize(cap);
  } else {
    std::sort(all.begin(), all.end(), before);
  }
  // limit=0 keeps nothing (cap 0 would mean everything).
  if (limit == 0) all.clear();
  return Partial(std::move(p), cap);
}

absl::StatusOr<QueryResult> FinishSort(ExecState& es, const Call& c,
                                       const SortedPart& p) {
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  const auto& all = p.sorted;
  const size_t begin = std::min<uint64_t>(offset, all.size());
  const size_t end = limit >= all.size() - begin ? all.size() : begin + limit;
  std::string json = es.st->column_keys ? "{\"keys\":[" : "{\"columns\":[";
  Bitmap cols;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) json += ',';
    cols.Add(all[i].second);
    if (es.st->column_keys) {
      auto key = es.st->column_keys->TranslateId(all[i].second);
      AppendJsonString(&json, key.ok() ? *key : std::string());
    } else {
      json += fmt::format("{}", all[i].second);
    }
  }
  json += "]}";
  return ResultAccess::Row(std::move(cols), std::move(json));
}

// ---- partial kinds

void SumPart::Merge(const SumPart& from) {
  sum += from.sum;
  count += from.count;
}
void SumPart::Encode(std::string* out) const {
  PutI128(out, sum);
  PutFixed<uint64_t>(out, count);
}
absl::StatusOr<SumPart> SumPart::Decode(PartialReader& r, uint64_t) {
  SumPart p;
  FB_ASSIGN_OR_RETURN(p.sum, r.I128("sum"));
  FB_ASSIGN_OR_RETURN(p.count, r.Fixed<uint64_t>("count"));
  return p;
}

template <PartialKind K>
void ExtremeValuePart<K>::Merge(const ExtremeValuePart& from) {
  if (!from.has) return;
  const bool is_min = K == PartialKind::kMin;
  if (!has || (is_min ? from.value < value : from.value > value)) {
    has = true;
    value = from.value;
    count = from.count;
  } else if (from.value == value) {
    count += from.count;  // ties add their counts
  }
}
template <PartialKind K>
void ExtremeValuePart<K>::Encode(std::string* out) const {
  PutFlag(out, has);
  PutFixed<int64_t>(out, value);
  PutFixed<uint64_t>(out, count);
}
template <PartialKind K>
absl::StatusOr<ExtremeValuePart<K>> ExtremeValuePart<K>::Decode(
    PartialReader& r, uint64_t) {
  ExtremeValuePart p;
  FB_ASSIGN_OR_RETURN(p.has, r.Flag("presence"));
  FB_ASSIGN_OR_RETURN(p.value, r.Fixed<int64_t>("value"));
  FB_ASSIGN_OR_RETURN(p.count, r.Fixed<uint64_t>("count"));
  return p;
}
template struct ExtremeValuePart<PartialKind::kMin>;
template struct ExtremeValuePart<PartialKind::kMax>;

// A record lives in one shard, so only one part has its value.
void FieldValuePart::Merge(const FieldValuePart& from) {
  if (!has && from.has) *this = from;
}
void FieldValuePart::Encode(std::string* out) const {
  PutFlag(out, has);
  PutFixed<int64_t>(out, value);
}
absl::StatusOr<FieldValuePart> FieldValuePart::Decode(PartialReader& r,
                                                      uint64_t) {
  FieldValuePart p;
  FB_ASSIGN_OR_RETURN(p.has, r.Flag("presence"));
  FB_ASSIGN_OR_RETURN(p.value, r.Fixed<int64_t>("value"));
  return p;
}

void SortedPart::Cap(uint64_t cap) {
  if (sorted.size() > cap) sorted.resize(cap);
}
void SortedPart::Merge(const SortedPart& from) {
  std::vector<std::pair<int64_t, uint64_t>> out;
  out.reserve(sorted.size() + from.sorted.size());
  std::merge(sorted.begin(), sorted.end(), from.sorted.begin(),
             from.sorted.end(), std::back_inserter(out),
             [d = desc](const auto& a, const auto& b) {
               return SortedBefore(d, a, b);
             });
  sorted = std::move(out);
}
void SortedPart::Encode(std::string* out) const {
  PutFlag(out, desc);
  PutFixed<uint64_t>(out, sorted.size());
  for (const auto& [v, col] : sorted) {
    PutFixed<int64_t>(out, v);
    PutFixed<uint64_t>(out, col);
  }
}
absl::StatusOr<SortedPart> SortedPart::Decode(PartialReader& r, uint64_t cap) {
  SortedPart p;
  FB_ASSIGN_OR_RETURN(p.desc, r.Flag("order"));
  FB_ASSIGN_OR_RETURN(auto n, r.CappedCount(16, cap, "sorted record"));
  p.sorted.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("sorted record"));
    FB_ASSIGN_OR_RETURN(auto col, r.Fixed<uint64_t>("sorted record"));
    const std::pair<int64_t, uint64_t> e{v, col};
    if (!p.sorted.empty() && !SortedBefore(p.desc, p.sorted.back(), e))
      return r.Bad(at, "records out of order");
    p.sorted.push_back(e);
  }
  return p;
}

}  // namespace featurebase::internal
