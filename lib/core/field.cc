#include "featurebase/field.h"

#include "absl/status/status.h"
#include "featurebase/value.h"
#include "fmt/format.h"
#include "lib/bsi/value_codec.h"

namespace featurebase {

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kSet:
      return "set";
    case FieldType::kMutex:
      return "mutex";
    case FieldType::kBool:
      return "bool";
    case FieldType::kTime:
      return "time";
    case FieldType::kInt:
      return "int";
    case FieldType::kDecimal:
      return "decimal";
    case FieldType::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

StatusOr<FieldType> ParseFieldType(std::string_view name) {
  for (FieldType t :
       {FieldType::kSet, FieldType::kMutex, FieldType::kBool, FieldType::kTime,
        FieldType::kInt, FieldType::kDecimal, FieldType::kTimestamp}) {
    if (FieldTypeName(t) == name) return t;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown field type \"{}\" (want set, mutex, bool, time, "
                  "int, decimal or timestamp)",
                  name));
}

StatusOr<TimeQuantum> TimeQuantum::Parse(std::string_view text) {
  static constexpr std::string_view kValid[] = {
      "Y", "YM", "YMD", "YMDH", "M", "MD", "MDH", "D", "DH", "H"};
  for (std::string_view v : kValid) {
    if (v == text) {
      TimeQuantum q;
      q.year = text.find('Y') != std::string_view::npos;
      q.month = text.find('M') != std::string_view::npos;
      q.day = text.find('D') != std::string_view::npos;
      q.hour = text.find('H') != std::string_view::npos;
      return q;
    }
  }
  return absl::InvalidArgumentError(
      fmt::format("invalid time quantum \"{}\" (want Y, YM, YMD, YMDH, M, MD, "
                  "MDH, D, DH or H)",
                  text));
}

std::string TimeQuantum::ToString() const {
  std::string s;
  if (year) s += 'Y';
  if (month) s += 'M';
  if (day) s += 'D';
  if (hour) s += 'H';
  return s;
}

namespace {

// At most 64 bytes of `name` for a message, bytes outside printable ASCII
// as \xNN, "..." when cut.
std::string Excerpt(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size() && i < 64; ++i) {
    const unsigned char c = uint8_t(name[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out += char(c);
    } else {
      out += fmt::format("\\x{:02X}", c);
    }
  }
  if (name.size() > 64) out += "...";
  return out;
}

}  // namespace

Status ValidateName(std::string_view what, std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("invalid {} name \"{}\": {} (want a lower-case letter, "
                    "then up to 229 of a-z 0-9 _ -)",
                    what, Excerpt(name), why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 230)
    return bad(fmt::format("{} characters, over 230", name.size()));
  if (!(name[0] >= 'a' && name[0] <= 'z'))
    return bad("must start with a lower-case letter");
  for (size_t i = 1; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return bad(fmt::format("character {} not allowed", i + 1));
    }
  }
  return absl::OkStatus();
}

std::string_view KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kId:
      return "id";
    case Value::Kind::kKey:
      return "key";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kDecimal:
      return "decimal";
    case Value::Kind::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

std::string FormatRfc3339(absl::Time t) { return internal::FormatRfc3339(t); }

std::string Value::DebugString() const {
  switch (kind_) {
    case Kind::kNull:
      return "null";
    case Kind::kId:
      return fmt::format("id {}", id());
    case Kind::kKey:
      return fmt::format("key \"{}\"",
                         key_.size() > 64 ? key_.substr(0, 64) + "..." : key_);
    case Kind::kBool:
      return boolean() ? "bool true" : "bool false";
    case Kind::kInt:
      return fmt::format("int {}", int_);
    case Kind::kDecimal:
      return fmt::format("decimal {}e-{}", int_, scale_);
    case Kind::kTimestamp:
      return "timestamp " + internal::FormatRfc3339(time_);
  }
  return "?";
}

}  // namespace featurebase
