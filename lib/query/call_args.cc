#include "lib/query/call_args.h"

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {
namespace {

struct CallArgs {
  std::string_view call;
  // Calls that also take one field=value argument (any other name).
  bool field_value;
  std::initializer_list<std::string_view> keys;
};

// Positional arguments appear under the parser's reserved keys: "_field"
// (TopN(f)), "_col" (Set(1, ...)), "_timestamp" (Set's last argument).
constexpr std::string_view kPositionalField = "_field";

const CallArgs kCallArgs[] = {
    {"All", false, {"limit", "offset"}},
    {"Clear", true, {"_col"}},
    {"ClearRow", true, {}},
    {"ConstRow", false, {"columns"}},
    {"Count", false, {}},
    {"Delete", false, {}},
    {"Difference", false, {}},
    {"Distinct", false, {"_field", "field", "filter", "index"}},
    {"Extract", false, {}},
    {"FieldValue", false, {"_field", "field", "column"}},
    {"GroupBy",
     false,
     {"limit", "offset", "previous", "filter", "having", "aggregate", "sort"}},
    {"IncludesColumn", false, {"column"}},
    {"Intersect", false, {}},
    {"Limit", false, {"limit", "offset"}},
    {"Max", false, {"_field", "field", "filter"}},
    {"MaxRow", false, {"_field", "field", "filter"}},
    {"Min", false, {"_field", "field", "filter"}},
    {"MinRow", false, {"_field", "field", "filter"}},
    {"Not", false, {}},
    {"Options", false, {"shards"}},
    {"Percentile", false, {"_field", "field", "filter", "nth"}},
    {"Range", true, {"from", "to"}},
    {"Row", true, {"from", "to"}},
    {"Rows",
     false,
     {"_field", "field", "previous", "limit", "column", "like", "in", "from",
      "to"}},
    {"Set", true, {"_col", "_timestamp"}},
    {"Shift", false, {"n"}},
    {"Sort",
     false,
     {"_field", "field", "filter", "sort-desc", "limit", "offset"}},
    {"Store", true, {}},
    {"Sum", false, {"_field", "field", "filter"}},
    {"TopK",
     false,
     {"_field", "field", "k", "filter", "threshold", "tanimotoThreshold",
      "from", "to"}},
    {"TopN",
     false,
     {"_field", "field", "n", "filter", "ids", "threshold", "tanimotoThreshold",
      "from", "to"}},
    {"Union", false, {}},
    {"UnionRows", false, {}},
    {"Xor", false, {}},
};

const CallArgs* FindCallArgs(std::string_view name) {
  for (const CallArgs& ca : kCallArgs) {
    if (ca.call == name) return &ca;
  }
  return nullptr;
}

bool Takes(const CallArgs& ca, std::string_view key) {
  for (std::string_view k : ca.keys) {
    if (k == key) return true;
  }
  return false;
}

std::string KeyList(const CallArgs& ca) {
  std::string out;
  for (std::string_view k : ca.keys) {
    if (k.starts_with('_') && k != kPositionalField) continue;
    if (!out.empty()) out += ", ";
    out += k == kPositionalField ? "a field name" : std::string(k);
  }
  if (ca.field_value) out += out.empty() ? "field=value" : ", field=value";
  return out.empty() ? "no arguments" : out;
}

absl::Status CheckValue(const pql::Value& v) {
  if (v.kind == pql::Value::Kind::kCall && v.call != nullptr)
    return CheckCallArgs(*v.call);
  if (v.kind == pql::Value::Kind::kList) {
    for (const pql::Value& e : v.list) FB_RETURN_IF_ERROR(CheckValue(e));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string_view> CallsWithArgs() {
  std::vector<std::string_view> out;
  for (const CallArgs& ca : kCallArgs) out.push_back(ca.call);
  return out;
}

absl::Status CheckCallArgs(const pql::Call& c) {
  if (const CallArgs* ca = FindCallArgs(c.name)) {
    for (const pql::Arg& a : c.args) {
      if (Takes(*ca, a.key)) continue;
      // Any other name is the field of field=value (or a condition on it);
      // the executor refuses a second one.
      if (ca->field_value && !a.key.starts_with('_')) continue;
      const std::string shown =
          a.key == kPositionalField ? "a positional field name"
          : a.key == "_col"         ? "a positional column"
          : a.key == "_timestamp"   ? "a positional timestamp"
                                    : fmt::format("\"{}\"", a.key);
      return absl::InvalidArgumentError(fmt::format(
          "{}(): unknown argument {} (takes {})", c.name, shown, KeyList(*ca)));
    }
  }
  for (const pql::Arg& a : c.args) FB_RETURN_IF_ERROR(CheckValue(a.value));
  for (const pql::Call& kid : c.children)
    FB_RETURN_IF_ERROR(CheckCallArgs(kid));
  return absl::OkStatus();
}

using pql::Call;
using PKind = pql::Value::Kind;

absl::Status CallError(const Call& c, std::string_view msg) {
  return absl::InvalidArgumentError(fmt::format("{}(): {}", c.name, msg));
}

absl::StatusOr<absl::Time> ParseTimeArg(const Call& c, std::string_view key,
                                        const pql::Value& v) {
  if (v.kind == PKind::kInt) return absl::FromUnixSeconds(v.i);
  if (v.kind != PKind::kTimestamp && v.kind != PKind::kString) {
    return CallError(c, fmt::format("{} must be a timestamp", key));
  }
  static constexpr const char* kFormats[] = {"%Y-%m-%dT%H:%M",
                                             "%Y-%m-%d%ET%H:%M:%E*S%Ez",
                                             "%Y-%m-%dT%H:%M%Ez",
                                             "%Y-%m-%dT%H",
                                             "%Y-%m-%d",
                                             "%Y-%m",
                                             "%Y"};
  for (const char* f : kFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(f, v.s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return CallError(
      c,
      fmt::format("cannot parse {} time \"{}\" (want e.g. 2017-01-02T15:04 or "
                  "RFC3339)",
                  key, v.s));
}

// The row Value that a PQL literal names in `f`.
absl::StatusOr<Value> RowValue(const Call& c, const FieldState& f,
                               const pql::Value& v) {
  switch (v.kind) {
    case PKind::kBool:
      return Value::Bool(v.b);
    case PKind::kInt:
      if (v.i < 0) {
        return CallError(
            c, fmt::format("negative row {} for field \"{}\"", v.i, f.name));
      }
      return Value::Id(uint64_t(v.i));
    case PKind::kUint:
      return Value::Id(v.u);
    case PKind::kString:
      // Value::Key("") would be a null value: name the real mistake.
      if (v.s.empty())
        return CallError(c, fmt::format("empty key for field \"{}\"", f.name));
      return Value::Key(v.s);
    default:
      return CallError(
          c,
          fmt::format("field \"{}\" cannot take this value as a row", f.name));
  }
}

absl::StatusOr<uint64_t> UintArg(const Call& c, std::string_view key,
                                 uint64_t dflt) {
  const pql::Arg* a = c.Find(key);
  if (a == nullptr) return dflt;
  if (a->value.kind == PKind::kInt && a->value.i >= 0)
    return uint64_t(a->value.i);
  if (a->value.kind == PKind::kUint) return a->value.u;
  return CallError(c, fmt::format("{} must be a non-negative integer", key));
}

absl::StatusOr<std::optional<uint64_t>> OptUintArg(const Call& c,
                                                   std::string_view key) {
  if (c.Find(key) == nullptr) return std::optional<uint64_t>();
  FB_ASSIGN_OR_RETURN(uint64_t v, UintArg(c, key, 0));
  return std::optional<uint64_t>(v);
}

// The field named by `field=` or the first positional name (`_field`).
absl::StatusOr<std::string> FieldArg(const Call& c) {
  for (std::string_view key : {"_field", "field"}) {
    if (const pql::Arg* a = c.Find(key)) {
      if (a->value.kind != PKind::kString)
        return CallError(c, "field must be a name");
      return a->value.s;
    }
  }
  return CallError(c, "field required");
}

absl::StatusOr<uint64_t> ColumnArg(const Call& c, std::string_view key,
                                   const IndexState& st, Index* create_in) {
  const pql::Arg* a = c.Find(key);
  if (a == nullptr)
    return CallError(
        c, fmt::format("{} required", key == "_col" ? "column" : key));
  const pql::Value& v = a->value;
  if (v.kind == PKind::kString) {
    if (!st.column_keys) {
      return CallError(
          c, fmt::format("string column \"{}\" needs a keyed index", v.s));
    }
    if (create_in != nullptr) return create_in->ColumnId(v.s);
    FB_ASSIGN_OR_RETURN(uint64_t id, st.column_keys->FindKey(v.s));
    if (id == 0)
      return CallError(c, fmt::format("column key \"{}\" not found", v.s));
    return id;
  }
  if (st.column_keys) return CallError(c, "a keyed index takes string columns");
  if (v.kind == PKind::kInt && v.i >= 0) return uint64_t(v.i);
  if (v.kind == PKind::kUint) return v.u;
  return CallError(c, "column must be a non-negative integer");
}

std::string LiteralText(const pql::Value& v) {
  switch (v.kind) {
    case PKind::kInt:
      return fmt::format("{}", v.i);
    case PKind::kUint:
      return fmt::format("{}", v.u);
    case PKind::kDecimal: {
      const bool neg = v.d.unscaled < 0;
      const unsigned __int128 mag =
          neg ? -(unsigned __int128)(v.d.unscaled) : v.d.unscaled;
      std::string digits = fmt::format("{}", uint64_t(mag));
      if (v.d.scale > 0) {
        if (digits.size() <= size_t(v.d.scale))
          digits.insert(0, size_t(v.d.scale) + 1 - digits.size(), '0');
        digits.insert(digits.size() - size_t(v.d.scale), ".");
      }
      return neg ? "-" + digits : digits;
    }
    case PKind::kString:
    case PKind::kTimestamp:
      return fmt::format("\"{}\"", v.s);
    default:
      return "this value";
  }
}

absl::StatusOr<PredicateRaw> PredicateValue(const Call& c, const FieldState& f,
                                            const pql::Value& v) {
  const BsiFieldSpec& spec = *f.bsi;
  switch (f.options.type) {
    case FieldType::kInt:
      if (v.kind == PKind::kInt) return PredicateRaw{__int128(v.i)};
      if (v.kind == PKind::kUint) return PredicateRaw{__int128(v.u)};
      return CallError(c, fmt::format("field \"{}\" takes integers, not {}",
                                      f.name, LiteralText(v)));
    case FieldType::kDecimal: {
      __int128 x;
      int from_scale;
      if (v.kind == PKind::kInt) {
        x = v.i;
        from_scale = 0;
      } else if (v.kind == PKind::kUint) {
        x = v.u;
        from_scale = 0;
      } else if (v.kind == PKind::kDecimal) {
        x = v.d.unscaled;
        from_scale = v.d.scale;
      } else {
        return CallError(c, fmt::format("field \"{}\" takes numbers, not {}",
                                        f.name, LiteralText(v)));
      }
      // |x| < 2^64 and scales are at most 19: x · 10^19 fits in int128.
      for (int i = from_scale; i < spec.scale(); ++i) x *= 10;
      __int128 div = 1;
      for (int i = spec.scale(); i < from_scale; ++i) div *= 10;
      PredicateRaw p;
      p.raw = x / div;
      const __int128 rem = x % div;
      p.exact = rem == 0;
      if (rem < 0) p.raw -= 1;  // floor, not truncation
      return p;
    }
    default: {
      if (v.kind == PKind::kInt)
        return PredicateRaw{__int128(spec.base()) + v.i};
      if (v.kind != PKind::kTimestamp && v.kind != PKind::kString) {
        return CallError(c, fmt::format("field \"{}\" takes timestamps, not {}",
                                        f.name, LiteralText(v)));
      }
      auto units = ParseTimestamp(v.s, spec.unit());
      if (!units.ok())
        return Annotate(units.status(), fmt::format("{}()", c.name));
      return PredicateRaw{__int128(*units)};
    }
  }
}

}  // namespace featurebase::internal
