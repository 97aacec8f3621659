#include "lib/bsi/value_merge.h"

#include "fmt/format.h"

namespace featurebase {

std::string_view MergeName(Merge merge) {
  switch (merge) {
    case Merge::kLast:
      return "last";
    case Merge::kSum:
      return "sum";
    case Merge::kCount:
      return "count";
    case Merge::kMin:
      return "min";
    case Merge::kMax:
      return "max";
  }
  return "unknown";
}

StatusOr<Merge> ParseMerge(std::string_view name) {
  for (Merge m :
       {Merge::kLast, Merge::kSum, Merge::kCount, Merge::kMin, Merge::kMax}) {
    if (name == MergeName(m)) return m;
  }
  return absl::InvalidArgumentError(fmt::format(
      "merge: \"{}\" is not one of last, sum, count, min, max", name));
}

namespace internal {

absl::Status CheckMerge(std::string_view op, Merge merge, FieldType type,
                        std::string_view field) {
  const bool value_field = type == FieldType::kInt ||
                           type == FieldType::kDecimal ||
                           type == FieldType::kTimestamp;
  std::string_view takes;
  bool ok = value_field;
  switch (merge) {
    case Merge::kLast:
    case Merge::kMin:
    case Merge::kMax:
      takes = "int, decimal and timestamp fields";
      break;
    case Merge::kSum:
      takes = "int and decimal fields";
      ok = ok && type != FieldType::kTimestamp;
      break;
    case Merge::kCount:
      takes = "int fields";
      ok = type == FieldType::kInt;
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("{}: merge {} on {} field \"{}\": it takes {}", op,
                  MergeName(merge), FieldTypeName(type), field, takes));
}

absl::Status MergeError(const BsiFieldSpec& spec, Merge merge, bool has,
                        int64_t stored, int64_t value) {
  int64_t r = 0;
  if (!TryMerge(merge, has, stored, value, INT64_MIN, INT64_MAX, &r)) {
    return absl::OutOfRangeError(
        fmt::format("{} overflows a 64-bit integer", MergeName(merge)));
  }
  return absl::OutOfRangeError(fmt::format(
      "{} {} out of range [{}, {}]", MergeName(merge), spec.FormatValue(r),
      spec.FormatValue(spec.min()), spec.FormatValue(spec.max())));
}

}  // namespace internal
}  // namespace featurebase
