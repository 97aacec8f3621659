#include "examples/fbc/schema_json.h"

#include <cstdio>
#include <string>

#include "featurebase/shard.h"

namespace fbc {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string DecimalLiteral(int64_t unscaled, int scale) {
  const bool neg = unscaled < 0;
  // Magnitude as unsigned so that INT64_MIN works.
  uint64_t mag = neg ? uint64_t(0) - uint64_t(unscaled) : uint64_t(unscaled);
  std::string digits = std::to_string(mag);
  if (scale > 0) {
    if (digits.size() <= size_t(scale))
      digits.insert(0, size_t(scale) + 1 - digits.size(), '0');
    digits.insert(digits.size() - size_t(scale), ".");
  }
  return (neg ? "-" : "") + digits;
}

std::string FieldOptionsJson(const featurebase::FieldOptions& o) {
  using featurebase::FieldType;
  std::string out =
      "{\"type\":" + JsonString(featurebase::FieldTypeName(o.type));
  switch (o.type) {
    case FieldType::kSet:
    case FieldType::kMutex:
      out += std::string(",\"keys\":") + (o.keys ? "true" : "false");
      break;
    case FieldType::kTime:
      out += std::string(",\"keys\":") + (o.keys ? "true" : "false");
      out += ",\"timeQuantum\":" + JsonString(o.time_quantum.ToString());
      out += std::string(",\"noStandardView\":") +
             (o.no_standard_view ? "true" : "false");
      out += ",\"ttl\":" + JsonString(o.ttl == absl::ZeroDuration()
                                          ? "0s"
                                          : absl::FormatDuration(o.ttl));
      break;
    case FieldType::kBool:
      break;
    case FieldType::kInt:
      out += ",\"min\":" + std::to_string(o.min) +
             ",\"max\":" + std::to_string(o.max);
      break;
    case FieldType::kDecimal:
      out += ",\"scale\":" + std::to_string(o.scale) +
             ",\"min\":" + DecimalLiteral(o.min, o.scale) +
             ",\"max\":" + DecimalLiteral(o.max, o.scale);
      break;
    case FieldType::kTimestamp:
      out +=
          ",\"epoch\":" + JsonString(featurebase::FormatRfc3339(o.epoch)) +
          ",\"timeUnit\":" + JsonString(std::string(TimeUnitName(o.time_unit)));
      break;
  }
  return out + "}";
}

std::string IndexJson(const featurebase::Index& index) {
  const auto& o = index.options();
  std::string out =
      "{\"name\":" + JsonString(index.name()) +
      ",\"options\":{\"keys\":" + (o.keys ? "true" : "false") +
      ",\"trackExistence\":" + (o.track_existence ? "true" : "false");
  if (o.keys) out += ",\"partitions\":" + std::to_string(o.partitions);
  out += "},\"shardWidth\":" + std::to_string(featurebase::kShardWidth) +
         ",\"fields\":[";
  bool first = true;
  for (const auto& f : index.GetSnapshot()->Fields()) {
    if (!first) out += ",";
    first = false;
    out += "{\"name\":" + JsonString(f.name) +
           ",\"options\":" + FieldOptionsJson(f.options) + "}";
  }
  return out + "]}";
}

}  // namespace fbc
