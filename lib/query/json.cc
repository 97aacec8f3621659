#include "lib/query/json.h"

#include <iterator>

#include "fmt/format.h"

namespace featurebase::internal {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out->append(fmt::format("\\u{:04x}", c));
      ++i;
      continue;
    }
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");
      ++i;
    } else {
      out->append(s.substr(i, n));
      i += n;
    }
  }
  out->push_back('"');
}

std::string ColumnsJson(const IndexState& st, const Bitmap& b) {
  std::string out;
  if (st.column_keys) {
    out = "{\"keys\":[";
    const std::vector<uint64_t> ids = b.ToVector();
    bool first = true;
    for (uint64_t id : ids) {
      auto key = st.column_keys->TranslateId(id);
      if (!key.ok()) continue;  // freed by a concurrent Delete
      if (!first) out += ',';
      first = false;
      AppendJsonString(&out, *key);
    }
    out += "]}";
    return out;
  }
  out = "{\"columns\":[";
  bool first = true;
  b.ForEach([&](uint64_t v) {
    if (!first) out += ',';
    first = false;
    fmt::format_to(std::back_inserter(out), "{}", v);
  });
  out += "]}";
  return out;
}

std::string RowIdJson(const FieldState& f, uint64_t row,
                      std::string_view id_name, std::string_view key_name) {
  std::string out;
  if (f.row_keys) {
    auto key = f.row_keys->TranslateId(row);
    out = fmt::format("\"{}\":", key_name);
    AppendJsonString(&out, key.ok() ? *key : std::string());
    return out;
  }
  return fmt::format("\"{}\":{}", id_name, row);
}

std::string RowListJson(const FieldState& f, const std::vector<uint64_t>& rows,
                        std::string_view ids_name) {
  std::string out =
      f.row_keys ? "{\"keys\":[" : fmt::format("{{\"{}\":[", ids_name);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out += ',';
    if (f.row_keys) {
      auto key = f.row_keys->TranslateId(rows[i]);
      AppendJsonString(&out, key.ok() ? *key : std::string());
    } else {
      fmt::format_to(std::back_inserter(out), "{}", rows[i]);
    }
  }
  out += "]}";
  return out;
}

std::string DistinctValuesJson(const FieldState& f,
                               const std::vector<int64_t>& values) {
  std::string out;
  if (f.options.type == FieldType::kTimestamp) {
    out = "{\"Values\":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(&out, f.bsi->FormatValue(values[i]));
    }
    out += "],\"Name\":";
    AppendJsonString(&out, f.name);
    out += "}";
    return out;
  }
  out = "{\"neg\":{\"columns\":[";
  bool first = true;
  // Negative values descending by value are ascending by magnitude.
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (*it >= 0) continue;
    if (!first) out += ',';
    first = false;
    fmt::format_to(std::back_inserter(out), "{}",
                   static_cast<uint64_t>(0) - static_cast<uint64_t>(*it));
  }
  out += "]},\"pos\":{\"columns\":[";
  first = true;
  for (int64_t v : values) {
    if (v < 0) continue;
    if (!first) out += ',';
    first = false;
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
  out += "]}}";
  return out;
}

std::string ValueJson(const FieldState& f, int64_t raw) {
  std::string text = f.bsi->FormatValue(raw);
  if (f.options.type != FieldType::kTimestamp) return text;
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

}  // namespace featurebase::internal
