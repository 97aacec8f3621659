// The copy-on-write model's shared helpers: field validation and creation,
// row resolution, view selection for reads, BSI value conversion and the id
// allocator. Pure functions of an IndexState; no storage, no threads.
#include "lib/core/index_state.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/core/time_views.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {
namespace internal {

absl::Status FieldNotFound(std::string_view op, std::string_view field) {
  return absl::NotFoundError(
      fmt::format("{}: field \"{}\" not found", op, field));
}

absl::Status ValidateStreamSource(std::string_view source,
                                  std::string_view op) {
  if (source.empty() || source.size() > 4096) {
    return absl::InvalidArgumentError(
        fmt::format("{}: stream source name must be 1 to 4096 bytes, got {}",
                    op, source.size()));
  }
  return absl::OkStatus();
}

bool IsBsi(FieldType t) {
  return t == FieldType::kInt || t == FieldType::kDecimal ||
         t == FieldType::kTimestamp;
}

// The row id that `v` names in field `f`, for operation `op`. Keyed fields
// take Value::Key: `create` makes new keys (writes); otherwise an unknown key
// yields nullopt (an empty row, nothing to clear).
namespace {

// The largest column of any row of `view`, or nullopt when it holds none.
std::optional<uint64_t> MaxColumn(const View& view) {
  std::optional<uint64_t> best;
  view.ForEach([&](uint64_t shard, const Fragment& frag) {
    frag.rows().ForEach([&](uint64_t, const RowData& row) {
      if (const std::optional<uint32_t> m = row.Maximum()) {
        const uint64_t col = shard * kShardWidth + *m;
        if (!best || col > *best) best = col;
      }
      return true;
    });
    return true;
  });
  return best;
}

}  // namespace

uint64_t NextAutoId(const IndexState& s) {
  std::optional<uint64_t> top = MaxColumn(s.exists);
  auto raise = [&](std::optional<uint64_t> c) {
    if (c && (!top || *c > *top)) top = c;
  };
  for (const auto& [name, f] : s.fields) {
    if (f->bsi) {
      f->bsi_shards.ForEach([&](uint64_t shard, const BsiShard& b) {
        if (const std::optional<uint32_t> m = b.Exists().Maximum())
          raise(shard * kShardWidth + *m);
        return true;
      });
    } else if (f->tracks_existence()) {
      // Every bit of the field's views has its column in existence.
      if (const View* e = f->views.Find(kExistenceView)) raise(MaxColumn(*e));
    } else {
      f->views.ForEach([&](uint64_t, const View& v) {
        raise(MaxColumn(v));
        return true;
      });
    }
  }
  if (!top) return s.next_auto_id;
  // A record at UINT64_MAX leaves no id to hand out: the caller's
  // exhaustion check sees base + n overflow.
  return std::max(s.next_auto_id, *top == UINT64_MAX ? *top : *top + 1);
}

absl::StatusOr<std::optional<uint64_t>> ResolveRow(const FieldState& f,
                                                   const Value& v,
                                                   std::string_view op,
                                                   bool create) {
  const FieldType type = f.options.type;
  auto wrong = [&](std::string_view want) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" ({}) takes {}, not {}", op, f.name,
                    FieldTypeName(type), want, v.DebugString()));
  };
  if (type == FieldType::kBool) {
    if (v.kind() != Value::Kind::kBool) return wrong("true or false");
    return std::optional<uint64_t>(v.boolean() ? 1 : 0);
  }
  if (IsBsi(type)) return wrong("a comparison, not a row");
  if (f.row_keys) {
    if (v.kind() != Value::Kind::kKey) return wrong("a row key");
    absl::StatusOr<uint64_t> id =
        create ? f.row_keys->CreateKey(v.key()) : f.row_keys->FindKey(v.key());
    if (!id.ok())
      return Annotate(id.status(), fmt::format("{}: field \"{}\"", op, f.name));
    if (*id == 0) return std::optional<uint64_t>();
    return std::optional<uint64_t>(*id);
  }
  if (v.kind() != Value::Kind::kId) return wrong("a row id");
  if (v.id() > kMaxRowId) {
    return absl::InvalidArgumentError(
        fmt::format("{}: row id {} for field \"{}\" over the maximum {}", op,
                    v.id(), f.name, kMaxRowId));
  }
  return std::optional<uint64_t>(v.id());
}

// The time views of the coarsest unit present in `f` (FeatureBase's
// minMaxViews considers that unit).
std::vector<uint64_t> CoarsestTimeViews(const FieldState& f) {
  std::vector<uint64_t> out;
  int digits = 0;
  f.views.ForEachFrom(uint64_t{4} << 40, [&](uint64_t key, const View& v) {
    if (v.empty()) return true;
    if (digits == 0) digits = TimeViewDigits(key);
    if (TimeViewDigits(key) != digits) return false;
    out.push_back(key);
    return true;
  });
  return out;
}

std::vector<uint64_t> ScanRows(const FieldState& f,
                               std::span<const uint64_t> views,
                               std::optional<uint64_t> previous,
                               std::optional<uint64_t> column) {
  if (previous && *previous == UINT64_MAX) return {};
  const uint64_t from = previous ? *previous + 1 : 0;
  std::vector<uint64_t> out;
  for (uint64_t vk : views) {
    const View* view = f.views.Find(vk);
    if (view == nullptr) continue;
    auto scan = [&](const Fragment& frag, std::optional<uint32_t> off) {
      frag.rows().ForEachFrom(from, [&](uint64_t row, const RowData& r) {
        if (!off || r.Contains(*off)) out.push_back(row);
        return true;
      });
    };
    if (column) {
      if (const Fragment* frag = view->Find(ShardOf(*column)))
        scan(*frag, OffsetInShard(*column));
    } else {
      view->ForEach([&](uint64_t, const Fragment& frag) {
        scan(frag, std::nullopt);
        return true;
      });
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void RankRows(std::vector<RowCount>* rows, uint64_t n) {
  auto better = [](const RowCount& a, const RowCount& b) {
    return a.count != b.count ? a.count > b.count : a.row < b.row;
  };
  if (n > 0 && n < rows->size()) {
    std::partial_sort(rows->begin(), rows->begin() + n, rows->end(), better);
    rows->resize(n);
  } else {
    std::sort(rows->begin(), rows->end(), better);
  }
}

// The views a read of `f` over `range` must union.
absl::StatusOr<std::vector<uint64_t>> ReadViews(const FieldState& f,
                                                const TimeRange& range,
                                                std::string_view op) {
  if (!range.empty() && f.options.type != FieldType::kTime) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" is not a time-field", op, f.name));
  }
  if (f.options.type != FieldType::kTime)
    return std::vector<uint64_t>{kStandardView};
  if (range.empty()) {
    if (f.has_standard_view()) return std::vector<uint64_t>{kStandardView};
    return CoarsestTimeViews(f);
  }
  const std::vector<uint64_t> coarsest = CoarsestTimeViews(f);
  if (coarsest.empty()) return std::vector<uint64_t>{};
  absl::CivilSecond from = TimeViewStart(coarsest.front());
  absl::CivilSecond to = TimeViewEnd(coarsest.back());
  if (range.from) {
    auto c = ToCivil(*range.from);
    if (!c.ok()) return Annotate(c.status(), fmt::format("{}: from", op));
    from = *c;
  }
  if (range.to) {
    auto c = ToCivil(*range.to);
    if (!c.ok()) return Annotate(c.status(), fmt::format("{}: to", op));
    to = *c;
  }
  std::vector<uint64_t> views;
  for (uint64_t vk : ViewsByTimeRange(f.options.time_quantum, from, to)) {
    if (f.views.Find(vk) != nullptr) views.push_back(vk);
  }
  return views;
}

absl::StatusOr<BsiFieldOptions> ToBsiOptions(std::string_view name,
                                             const FieldOptions& o) {
  BsiFieldOptions b;
  b.type = o.type == FieldType::kInt       ? BsiFieldType::kInt
           : o.type == FieldType::kDecimal ? BsiFieldType::kDecimal
                                           : BsiFieldType::kTimestamp;
  if (o.min != INT64_MIN) b.min = o.min;
  if (o.max != INT64_MAX) b.max = o.max;
  b.scale = o.scale;
  b.epoch = o.epoch;
  if (o.time_unit != TimeUnit::kSecond &&
      o.time_unit != TimeUnit::kMillisecond &&
      o.time_unit != TimeUnit::kMicrosecond &&
      o.time_unit != TimeUnit::kNanosecond) {
    return absl::InvalidArgumentError(fmt::format(
        "create field \"{}\": time unit {} is not one of s, ms, us, ns", name,
        int(o.time_unit)));
  }
  b.unit = o.time_unit;
  return b;
}

namespace {

// v * 10^k, or nullopt on int64 overflow.
std::optional<int64_t> ScaleUp(int64_t v, int k) {
  __int128 x = v;
  for (int i = 0; i < k; ++i) {
    x *= 10;
    if (x > INT64_MAX || x < INT64_MIN) return std::nullopt;
  }
  return int64_t(x);
}

}  // namespace

absl::StatusOr<int64_t> BsiRawValue(const FieldState& f, const Value& in,
                                    std::string_view op) {
  const BsiFieldSpec& spec = *f.bsi;
  // PQL writes integers as ids (Set(1, age=30)); FeatureBase takes them
  // for every value field.
  const Value v = in.kind() == Value::Kind::kId && in.id() <= INT64_MAX
                      ? Value::Int(int64_t(in.id()))
                      : in;
  auto wrong = [&](std::string_view want) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" ({}) takes {}, not {}", op, f.name,
                    FieldTypeName(f.options.type), want, v.DebugString()));
  };
  auto too_big = [&] {
    return absl::OutOfRangeError(fmt::format(
        "{}: value {} does not fit field \"{}\"", op, v.DebugString(), f.name));
  };
  switch (f.options.type) {
    case FieldType::kInt:
      if (v.kind() != Value::Kind::kInt) return wrong("an integer");
      return v.integer();
    case FieldType::kDecimal: {
      const int scale = spec.scale();
      if (v.kind() == Value::Kind::kInt) {
        auto x = ScaleUp(v.integer(), scale);
        if (!x) return too_big();
        return *x;
      }
      if (v.kind() != Value::Kind::kDecimal) return wrong("a decimal");
      if (v.scale() < 0 || v.scale() > 19)
        return wrong("a decimal with scale 0..19");
      if (v.scale() <= scale) {
        auto x = ScaleUp(v.unscaled(), scale - v.scale());
        if (!x) return too_big();
        return *x;
      }
      // More places than the field keeps: exact only if they are zeros.
      int64_t x = v.unscaled();
      for (int i = scale; i < v.scale(); ++i) {
        if (x % 10 != 0) {
          return absl::InvalidArgumentError(fmt::format(
              "{}: {} has more than {} decimal places for field \"{}\"", op,
              v.DebugString(), scale, f.name));
        }
        x /= 10;
      }
      return x;
    }
    default: {
      if (v.kind() == Value::Kind::kInt) {
        // Integers are units since the field's epoch (FeatureBase's ingest).
        const __int128 raw = __int128(spec.base()) + v.integer();
        if (raw > INT64_MAX || raw < INT64_MIN) return too_big();
        return int64_t(raw);
      }
      if (v.kind() != Value::Kind::kTimestamp) return wrong("a timestamp");
      auto units = TimeToUnits(v.timestamp(), spec.unit());
      if (!units.ok()) return too_big();
      return *units;
    }
  }
}

std::optional<Value> BsiPublicValue(const FieldState& f, int64_t stored) {
  const int64_t raw = f.bsi->ToRaw(stored);
  switch (f.options.type) {
    case FieldType::kInt:
      return Value::Int(raw);
    case FieldType::kDecimal:
      return Value::Decimal(raw, f.bsi->scale());
    default:
      return Value::Timestamp(UnitsToTime(raw, f.bsi->unit()));
  }
}

namespace {

absl::Status ValidateFieldOptions(std::string_view name,
                                  const FieldOptions& o) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("create field \"{}\": {}", name, why));
  };
  if (o.type == FieldType::kTime) {
    if (o.time_quantum.empty()) return bad("a time field needs a time quantum");
    FB_RETURN_IF_ERROR(TimeQuantum::Parse(o.time_quantum.ToString()).status());
    if (o.ttl < absl::ZeroDuration()) return bad("negative ttl");
  } else {
    if (!o.time_quantum.empty())
      return bad("only time fields take a time quantum");
    if (o.no_standard_view)
      return bad("only time fields can skip the standard view");
    if (o.ttl != absl::ZeroDuration())
      return bad("only time fields take a ttl");
  }
  if (o.type == FieldType::kBool && o.keys)
    return bad("bool fields cannot have keys");
  if (IsBsi(o.type) && o.keys) {
    return bad("int, decimal and timestamp fields cannot have keys");
  }
  if (!IsBsi(o.type) && (o.min != INT64_MIN || o.max != INT64_MAX)) {
    return bad("only int, decimal and timestamp fields take min and max");
  }
  if (o.type != FieldType::kDecimal && o.scale != 0) {
    return bad("only decimal fields take a scale");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<FieldState>> NewFieldState(
    std::string_view name, const FieldOptions& options, OwnerToken owner) {
  FB_RETURN_IF_ERROR(ValidateName("field", name));
  FB_RETURN_IF_ERROR(ValidateFieldOptions(name, options));
  auto f = std::make_shared<FieldState>();
  f->owner = owner;
  f->name = std::string(name);
  f->options = options;
  if (options.keys) f->row_keys = KeyTranslator::NewRowTranslator();
  if (IsBsi(options.type)) {
    FB_ASSIGN_OR_RETURN(BsiFieldOptions bo, ToBsiOptions(name, options));
    auto spec = BsiFieldSpec::Create(name, bo);
    if (!spec.ok()) {
      return Annotate(spec.status(), fmt::format("create field \"{}\"", name));
    }
    f->bsi = std::move(*spec);
  }
  return f;
}

}  // namespace internal
}  // namespace featurebase
