#include "lib/query/call_args.h"

#include <initializer_list>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "lib/util/status_macros.h"

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
    {"Distinct", false, {"_field", "field", "filter"}},
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

}  // namespace featurebase::internal
