#include "examples/fbc/header.h"

#include <charconv>
#include <set>
#include <string>
#include <utility>

#include "examples/fbc/message.h"

namespace fbc {
namespace {

using featurebase::Status;
using featurebase::StatusOr;

struct TypeEntry {
  std::string_view lower;
  ColumnType type;
  size_t max_args;
};

constexpr TypeEntry kTypes[] = {
    {"id", ColumnType::kId, 3},
    {"string", ColumnType::kString, 3},
    {"stringarray", ColumnType::kStringArray, 2},
    {"idarray", ColumnType::kIdArray, 2},
    {"int", ColumnType::kInt, 2},
    {"decimal", ColumnType::kDecimal, 1},
    {"bool", ColumnType::kBool, 0},
    {"timestamp", ColumnType::kTimestamp, 4},
    {"recordtime", ColumnType::kRecordTime, 3},
    {"dateint", ColumnType::kDateInt, 4},
    {"ignore", ColumnType::kIgnore, 0},
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (!s.empty() && s[0] == '+') ++b;
  auto r = std::from_chars(b, e, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != e) return std::nullopt;
  return v;
}

}  // namespace

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kId:
      return "ID";
    case ColumnType::kString:
      return "String";
    case ColumnType::kStringArray:
      return "StringArray";
    case ColumnType::kIdArray:
      return "IDArray";
    case ColumnType::kInt:
      return "Int";
    case ColumnType::kDecimal:
      return "Decimal";
    case ColumnType::kBool:
      return "Bool";
    case ColumnType::kTimestamp:
      return "Timestamp";
    case ColumnType::kRecordTime:
      return "RecordTime";
    case ColumnType::kDateInt:
      return "DateInt";
    case ColumnType::kIgnore:
      return "Ignore";
  }
  return "?";
}

featurebase::FieldOptions ColumnSpec::FieldOptions() const {
  using featurebase::FieldOptions;
  switch (type) {
    case ColumnType::kId:
    case ColumnType::kString:
    case ColumnType::kStringArray:
    case ColumnType::kIdArray: {
      FieldOptions o;
      if (!quantum.empty()) {
        o = FieldOptions::Time(quantum);
        o.ttl = ttl;
      } else if (mutex) {
        o = FieldOptions::Mutex();
      }
      o.keys = type == ColumnType::kString || type == ColumnType::kStringArray;
      return o;
    }
    case ColumnType::kInt:
      return FieldOptions::Int(min.value_or(INT64_MIN),
                               max.value_or(INT64_MAX));
    case ColumnType::kDecimal:
      return FieldOptions::Decimal(scale);
    case ColumnType::kBool:
      return FieldOptions::Bool();
    case ColumnType::kTimestamp:
      return FieldOptions::Timestamp(*featurebase::ParseTimeUnit(granularity),
                                     epoch.value_or(absl::UnixEpoch()));
    case ColumnType::kDateInt:
      return FieldOptions::Int();
    case ColumnType::kRecordTime:
    case ColumnType::kIgnore:
      break;
  }
  return FieldOptions();
}

StatusOr<ColumnSpec> ParseHeaderCell(std::string_view cell, size_t column) {
  const std::string where =
      "header column " + std::to_string(column) + " " + Excerpt(cell);
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(where + ": " + std::string(why));
  };
  ColumnSpec spec;
  spec.cell = std::string(cell);
  // source___dest__spec or source__spec; the last "___" and then the last
  // "__" after it separate the parts, as in the ingest kit.
  std::string_view rest = cell;
  const size_t tri = cell.rfind("___");
  if (tri != std::string_view::npos) {
    spec.source = std::string(cell.substr(0, tri));
    rest = cell.substr(tri + 3);
  }
  const size_t di = rest.rfind("__");
  if (di == std::string_view::npos)
    return error("no field spec (expected name__Type)");
  spec.field = std::string(rest.substr(0, di));
  if (tri == std::string_view::npos) spec.source = spec.field;
  const std::vector<std::string_view> parts = Split(rest.substr(di + 2), '_');
  const std::string type_name = Lower(parts[0]);
  const TypeEntry* entry = nullptr;
  for (const TypeEntry& t : kTypes)
    if (t.lower == type_name) entry = &t;
  if (entry == nullptr) {
    if (type_name == "lookuptext" || type_name == "foreignkey" ||
        type_name == "signedintboolkey")
      return error("type " + std::string(parts[0]) +
                   " is not supported by fbc");
    return error("unknown type " + Excerpt(parts[0]));
  }
  spec.type = entry->type;
  const std::vector<std::string_view> args(parts.begin() + 1, parts.end());
  if (args.size() > entry->max_args) {
    return error("too many arguments for " +
                 std::string(ColumnTypeName(spec.type)) + " (takes at most " +
                 std::to_string(entry->max_args) + ", got " +
                 std::to_string(args.size()) + ")");
  }
  if (spec.source.empty() && spec.type != ColumnType::kRecordTime &&
      spec.type != ColumnType::kIgnore)
    return error("no source name");
  if (spec.is_field()) {
    if (Status s = ValidateNameForMessage("field", spec.field); !s.ok())
      return error(s.message());
  }
  auto parse_quantum = [&](std::string_view q) -> Status {
    if (q.empty()) return absl::OkStatus();
    auto parsed = featurebase::TimeQuantum::Parse(q);
    if (!parsed.ok()) return error(parsed.status().message());
    spec.quantum = *parsed;
    return absl::OkStatus();
  };
  auto parse_ttl = [&](std::string_view t) -> Status {
    if (t.empty()) return absl::OkStatus();
    if (!absl::ParseDuration(std::string(t), &spec.ttl) ||
        spec.ttl < absl::ZeroDuration())
      return error("bad TTL " + Excerpt(t) + " (a duration like 24h)");
    if (spec.quantum.empty()) return error("a TTL needs a time quantum");
    return absl::OkStatus();
  };
  auto parse_layout = [&](std::string_view l) -> Status {
    auto layout = TimeLayout::Parse(l);
    if (!layout.ok()) return error(layout.status().message());
    spec.layout = *std::move(layout);
    return absl::OkStatus();
  };
  auto parse_epoch = [&](std::string_view e) -> Status {
    auto t = spec.layout.ParseTime(e);
    if (!t.ok())
      return error("parsing epoch: " + std::string(t.status().message()));
    spec.epoch = *t;
    return absl::OkStatus();
  };
  auto parse_unit = [&](std::string_view u) -> Status {
    auto d = ParseUnit(u);
    if (!d.ok()) return error(d.status().message());
    spec.unit = *d;
    return absl::OkStatus();
  };
  switch (spec.type) {
    case ColumnType::kId:
    case ColumnType::kString:
      if (args.size() > 0) {
        if (args[0] == "T") {
          spec.mutex = true;
        } else if (args[0] != "F") {
          return error("mutex argument must be T or F, got " +
                       Excerpt(args[0]));
        }
      }
      if (args.size() > 1)
        if (Status s = parse_quantum(args[1]); !s.ok()) return s;
      if (args.size() > 2)
        if (Status s = parse_ttl(args[2]); !s.ok()) return s;
      break;
    case ColumnType::kStringArray:
    case ColumnType::kIdArray:
      if (args.size() > 0)
        if (Status s = parse_quantum(args[0]); !s.ok()) return s;
      if (args.size() > 1)
        if (Status s = parse_ttl(args[1]); !s.ok()) return s;
      break;
    case ColumnType::kInt:
      if (args.size() > 0) {
        spec.min = ParseInt64(args[0]);
        if (!spec.min)
          return error("parsing min: " + Excerpt(args[0]) +
                       " is not an integer");
      }
      if (args.size() > 1) {
        spec.max = ParseInt64(args[1]);
        if (!spec.max)
          return error("parsing max: " + Excerpt(args[1]) +
                       " is not an integer");
        if (*spec.max < *spec.min)
          return error("min " + std::to_string(*spec.min) +
                       " is greater than max " + std::to_string(*spec.max));
      }
      break;
    case ColumnType::kDecimal:
      if (args.size() > 0) {
        auto s = ParseInt64(args[0]);
        if (!s || *s < 0 || *s > 19)
          return error("parsing scale: " + Excerpt(args[0]) +
                       " is not an integer in [0, 19]");
        spec.scale = int(*s);
      }
      break;
    case ColumnType::kTimestamp:
      spec.layout = *TimeLayout::Parse(kRfc3339Nano);
      if (args.size() > 0) {
        spec.granularity = std::string(args[0]);
        if (spec.granularity != "s" && spec.granularity != "ms" &&
            spec.granularity != "us" && spec.granularity != "ns")
          return error("granularity must be s, ms, us or ns, got " +
                       Excerpt(spec.granularity));
      }
      if (args.size() > 1)
        if (Status s = parse_layout(args[1]); !s.ok()) return s;
      if (args.size() > 2)
        if (Status s = parse_epoch(args[2]); !s.ok()) return s;
      if (args.size() > 3)
        if (Status s = parse_unit(args[3]); !s.ok()) return s;
      break;
    case ColumnType::kRecordTime:
      if (args.size() > 0)
        if (Status s = parse_layout(args[0]); !s.ok()) return s;
      if (args.size() > 1)
        if (Status s = parse_epoch(args[1]); !s.ok()) return s;
      if (args.size() > 2)
        if (Status s = parse_unit(args[2]); !s.ok()) return s;
      break;
    case ColumnType::kDateInt:
      if (args.size() > 0)
        if (Status s = parse_layout(args[0]); !s.ok()) return s;
      if (args.size() > 1)
        if (Status s = parse_epoch(args[1]); !s.ok()) return s;
      if (args.size() > 2) {
        if (Lower(args[2]) == "c") {
          if (args.size() < 4)
            return error("custom unit c needs a duration argument");
          absl::Duration d;
          if (!absl::ParseDuration(std::string(args[3]), &d) ||
              d <= absl::ZeroDuration())
            return error("bad custom unit " + Excerpt(args[3]) +
                         " (a positive duration like 15m)");
          spec.unit = d;
        } else {
          if (Status s = parse_unit(args[2]); !s.ok()) return s;
          if (args.size() > 3)
            return error("a custom unit duration needs unit c");
        }
      }
      break;
    case ColumnType::kBool:
    case ColumnType::kIgnore:
      break;
  }
  return spec;
}

StatusOr<std::vector<ColumnSpec>> ParseHeader(
    const std::vector<std::string>& cells) {
  std::vector<ColumnSpec> specs;
  std::set<std::string> fields;
  int record_time = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    auto spec = ParseHeaderCell(cells[i], i + 1);
    if (!spec.ok()) return spec.status();
    if (spec->is_field() && !fields.insert(spec->field).second) {
      return absl::InvalidArgumentError(
          "header column " + std::to_string(i + 1) + " " + Excerpt(cells[i]) +
          ": field " + Excerpt(spec->field) +
          " is written by an earlier column");
    }
    if (spec->type == ColumnType::kRecordTime && ++record_time > 1) {
      return absl::InvalidArgumentError(
          "header column " + std::to_string(i + 1) + " " + Excerpt(cells[i]) +
          ": a second RecordTime column");
    }
    specs.push_back(*std::move(spec));
  }
  if (specs.empty()) return absl::InvalidArgumentError("header: no columns");
  return specs;
}

std::vector<std::string> SplitHeaderFlag(std::string_view spec) {
  std::vector<std::string> out;
  for (std::string_view part : Split(spec, ',')) out.emplace_back(part);
  return out;
}

}  // namespace fbc
