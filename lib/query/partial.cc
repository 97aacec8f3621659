#include "lib/query/partial.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "fmt/format.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {
namespace {

constexpr uint32_t kMagic = 0x52504246;  // "FBPR"
constexpr uint16_t kVersion = 1;
constexpr size_t kHeader = 24;

template <typename T, typename Less>
void MergeSorted(std::vector<T>* into, const std::vector<T>& from, Less less) {
  std::vector<T> out;
  out.reserve(into->size() + from.size());
  std::merge(into->begin(), into->end(), from.begin(), from.end(),
             std::back_inserter(out), less);
  *into = std::move(out);
}

void Cap(uint64_t cap, auto* v) {
  if (cap != 0 && v->size() > cap) v->resize(cap);
}

bool SortedBefore(bool desc, const std::pair<int64_t, uint64_t>& a,
                  const std::pair<int64_t, uint64_t>& b) {
  if (a.first != b.first) return desc ? a.first > b.first : a.first < b.first;
  return a.second < b.second;
}

// ---- encoding

void PutI128(std::string* out, __int128 v) {
  PutFixed<uint64_t>(out, uint64_t(v));
  PutFixed<uint64_t>(out, uint64_t(static_cast<unsigned __int128>(v) >> 64));
}

void PutString(std::string* out, std::string_view s) {
  PutFixed<uint32_t>(out, uint32_t(s.size()));
  out->append(s);
}

// A bounds-checked reader over the body; offsets in errors are from the
// start of the whole encoding.
class Reader {
 public:
  explicit Reader(std::string_view body) : body_(body) {}
  size_t offset() const { return kHeader + pos_; }
  bool done() const { return pos_ == body_.size(); }

  absl::Status Need(size_t n, std::string_view what) const {
    if (body_.size() - pos_ < n) {
      return absl::DataLossError(fmt::format(
          "decode partial result: truncated {} at offset {} (need {}, have {})",
          what, offset(), n, body_.size() - pos_));
    }
    return absl::OkStatus();
  }
  template <typename T>
  absl::StatusOr<T> Fixed(std::string_view what) {
    FB_RETURN_IF_ERROR(Need(sizeof(T), what));
    T v = LoadFixed<T>(body_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<__int128> I128(std::string_view what) {
    FB_RETURN_IF_ERROR(Need(16, what));
    const uint64_t lo = LoadFixed<uint64_t>(body_.data() + pos_);
    const uint64_t hi = LoadFixed<uint64_t>(body_.data() + pos_ + 8);
    pos_ += 16;
    return static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) |
                                 lo);
  }
  absl::StatusOr<std::string_view> Bytes(size_t n, std::string_view what) {
    FB_RETURN_IF_ERROR(Need(n, what));
    std::string_view s = body_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // A count of entries each at least `min_bytes` long: rejects counts the
  // remaining bytes cannot hold (so no huge allocation on corrupt input).
  absl::StatusOr<uint64_t> Count(size_t min_bytes, std::string_view what) {
    const size_t at = offset();
    auto n = Fixed<uint64_t>(what);
    if (!n.ok()) return n.status();
    if (min_bytes > 0 && *n > (body_.size() - pos_) / min_bytes) {
      return absl::DataLossError(
          fmt::format("decode partial result: {} count {} at offset {} "
                      "exceeds the remaining {} bytes",
                      what, *n, at, body_.size() - pos_));
    }
    return *n;
  }
  absl::Status Bad(size_t at, std::string_view what) const {
    return absl::DataLossError(
        fmt::format("decode partial result: {} at offset {}", what, at));
  }

 private:
  std::string_view body_;
  size_t pos_ = 0;
};

}  // namespace

void CapPartial(Partial* p) {
  if (p->cap == 0) return;
  switch (p->kind) {
    case Partial::Kind::kRow:
      if (p->row.Cardinality() > p->cap) p->row = p->row.Slice(0, p->cap);
      return;
    case Partial::Kind::kRowIds:
      Cap(p->cap, &p->ids);
      return;
    case Partial::Kind::kGroups:
      Cap(p->cap, &p->groups);
      return;
    case Partial::Kind::kSorted:
      Cap(p->cap, &p->sorted);
      return;
    default:
      return;
  }
}

absl::Status MergePartial(Partial* into, const Partial& from) {
  if (into->kind != from.kind || into->call != from.call ||
      into->cap != from.cap || into->width != from.width ||
      into->desc != from.desc) {
    return absl::InvalidArgumentError(fmt::format(
        "merge partial results: they answer different calls ({} and {})",
        into->call, from.call));
  }
  using K = Partial::Kind;
  switch (into->kind) {
    case K::kRow:
      into->row |= from.row;
      break;
    case K::kCount:
      into->n += from.n;
      break;
    case K::kBool:
      into->n = into->n | from.n;
      break;
    case K::kSum:
      into->sum += from.sum;
      into->count += from.count;
      break;
    case K::kMin:
    case K::kMax: {
      if (!from.has) break;
      const bool is_min = into->kind == K::kMin;
      if (!into->has ||
          (is_min ? from.value < into->value : from.value > into->value)) {
        into->has = true;
        into->value = from.value;
        into->count = from.count;
      } else if (from.value == into->value) {
        into->count += from.count;  // ties add their counts
      }
      break;
    }
    case K::kPairs: {
      into->n += from.n;
      std::vector<PartialPair> out;
      out.reserve(into->pairs.size() + from.pairs.size());
      auto a = into->pairs.cbegin();
      auto b = from.pairs.cbegin();
      while (a != into->pairs.cend() || b != from.pairs.cend()) {
        if (b == from.pairs.cend() ||
            (a != into->pairs.cend() && a->row < b->row)) {
          out.push_back(*a++);
        } else if (a == into->pairs.cend() || b->row < a->row) {
          out.push_back(*b++);
        } else {
          out.push_back({a->row, a->count + b->count, a->size + b->size});
          ++a;
          ++b;
        }
      }
      into->pairs = std::move(out);
      break;
    }
    case K::kRowIds: {
      std::vector<uint64_t> out;
      std::set_union(into->ids.begin(), into->ids.end(), from.ids.begin(),
                     from.ids.end(), std::back_inserter(out));
      into->ids = std::move(out);
      break;
    }
    case K::kGroups: {
      std::vector<PartialGroup> out;
      out.reserve(into->groups.size() + from.groups.size());
      auto a = into->groups.begin();
      auto b = from.groups.cbegin();
      while (a != into->groups.end() || b != from.groups.cend()) {
        if (b == from.groups.cend() ||
            (a != into->groups.end() && a->rows < b->rows)) {
          out.push_back(std::move(*a++));
        } else if (a == into->groups.end() || b->rows < a->rows) {
          out.push_back(*b++);
        } else {
          PartialGroup g = std::move(*a++);
          g.count += b->count;
          g.sum += b->sum;
          std::vector<int64_t> d;
          std::set_union(g.distinct.begin(), g.distinct.end(),
                         b->distinct.begin(), b->distinct.end(),
                         std::back_inserter(d));
          g.distinct = std::move(d);
          out.push_back(std::move(g));
          ++b;
        }
      }
      into->groups = std::move(out);
      break;
    }
    case K::kSorted: {
      const bool desc = into->desc;
      MergeSorted(&into->sorted, from.sorted,
                  [desc](const auto& a, const auto& b) {
                    return SortedBefore(desc, a, b);
                  });
      break;
    }
    case K::kTable: {
      std::vector<PartialColumn> out;
      std::merge(into->table.begin(), into->table.end(), from.table.begin(),
                 from.table.end(), std::back_inserter(out),
                 [](const PartialColumn& a, const PartialColumn& b) {
                   return a.column < b.column;
                 });
      // A record lives in one shard, so parts never share one; keep the
      // first copy if a caller merges a part twice.
      out.erase(std::unique(out.begin(), out.end(),
                            [](const PartialColumn& a, const PartialColumn& b) {
                              return a.column == b.column;
                            }),
                out.end());
      into->table = std::move(out);
      break;
    }
    case K::kMinRow:
    case K::kMaxRow: {
      if (!from.has) break;
      const bool is_min = into->kind == K::kMinRow;
      if (!into->has || (is_min ? from.id < into->id : from.id > into->id)) {
        into->has = true;
        into->id = from.id;
        into->count = from.count;
        into->n = from.n;
      } else if (from.id == into->id && from.n != 0) {
        into->count += from.count;  // with a filter: records in the row
      }
      break;
    }
    case K::kFieldValue:
      if (!into->has && from.has) {
        into->has = true;
        into->value = from.value;
      }
      break;
    case K::kValues: {
      std::vector<int64_t> out;
      std::set_union(into->values.begin(), into->values.end(),
                     from.values.begin(), from.values.end(),
                     std::back_inserter(out));
      into->values = std::move(out);
      break;
    }
  }
  CapPartial(into);
  return absl::OkStatus();
}

std::string EncodePartial(const Partial& p) {
  using K = Partial::Kind;
  std::string body;
  body.push_back(char(p.kind));
  PutString(&body, p.call);
  PutFixed<uint64_t>(&body, p.cap);
  switch (p.kind) {
    case K::kRow: {
      const std::string bits = p.row.Serialize();
      PutFixed<uint64_t>(&body, bits.size());
      body += bits;
      break;
    }
    case K::kCount:
    case K::kBool:
      PutFixed<uint64_t>(&body, p.n);
      break;
    case K::kSum:
      PutI128(&body, p.sum);
      PutFixed<uint64_t>(&body, p.count);
      break;
    case K::kMin:
    case K::kMax:
      body.push_back(char(p.has));
      PutFixed<int64_t>(&body, p.value);
      PutFixed<uint64_t>(&body, p.count);
      break;
    case K::kPairs:
      PutFixed<uint64_t>(&body, p.n);
      PutFixed<uint64_t>(&body, p.pairs.size());
      for (const PartialPair& x : p.pairs) {
        PutFixed<uint64_t>(&body, x.row);
        PutFixed<uint64_t>(&body, x.count);
        PutFixed<uint64_t>(&body, x.size);
      }
      break;
    case K::kRowIds:
      PutFixed<uint64_t>(&body, p.ids.size());
      for (uint64_t id : p.ids) PutFixed<uint64_t>(&body, id);
      break;
    case K::kGroups:
      PutFixed<uint32_t>(&body, p.width);
      PutFixed<uint64_t>(&body, p.groups.size());
      for (const PartialGroup& g : p.groups) {
        for (uint64_t r : g.rows) PutFixed<uint64_t>(&body, r);
        PutFixed<uint64_t>(&body, g.count);
        PutI128(&body, g.sum);
        PutFixed<uint64_t>(&body, g.distinct.size());
        for (int64_t v : g.distinct) PutFixed<int64_t>(&body, v);
      }
      break;
    case K::kSorted:
      body.push_back(char(p.desc));
      PutFixed<uint64_t>(&body, p.sorted.size());
      for (const auto& [v, col] : p.sorted) {
        PutFixed<int64_t>(&body, v);
        PutFixed<uint64_t>(&body, col);
      }
      break;
    case K::kTable:
      PutFixed<uint32_t>(&body, p.width);
      PutFixed<uint64_t>(&body, p.table.size());
      for (const PartialColumn& c : p.table) {
        PutFixed<uint64_t>(&body, c.column);
        for (const PartialCell& cell : c.cells) {
          body.push_back(char(cell.tag));
          if (cell.tag == PartialCell::Tag::kRows) {
            PutFixed<uint64_t>(&body, cell.rows.size());
            for (uint64_t r : cell.rows) PutFixed<uint64_t>(&body, r);
          } else if (cell.tag == PartialCell::Tag::kValue) {
            PutFixed<int64_t>(&body, cell.value);
          }
        }
      }
      break;
    case K::kMinRow:
    case K::kMaxRow:
      body.push_back(char(p.has));
      PutFixed<uint64_t>(&body, p.id);
      PutFixed<uint64_t>(&body, p.count);
      body.push_back(char(p.n != 0));
      break;
    case K::kFieldValue:
      body.push_back(char(p.has));
      PutFixed<int64_t>(&body, p.value);
      break;
    case K::kValues:
      PutFixed<uint64_t>(&body, p.values.size());
      for (int64_t v : p.values) PutFixed<int64_t>(&body, v);
      break;
  }
  std::string out;
  out.reserve(kHeader + body.size());
  PutFixed<uint32_t>(&out, kMagic);
  PutFixed<uint16_t>(&out, kVersion);
  PutFixed<uint16_t>(&out, 0);
  PutFixed<uint64_t>(&out, body.size());
  PutFixed<uint64_t>(&out, Checksum64(body));
  out += body;
  return out;
}

absl::StatusOr<Partial> DecodePartial(std::string_view bytes) {
  auto loss = [](std::string msg) {
    return absl::DataLossError("decode partial result: " + msg);
  };
  if (bytes.size() < kHeader) {
    return loss(fmt::format("truncated header at offset 0 (need {}, have {})",
                            kHeader, bytes.size()));
  }
  if (LoadFixed<uint32_t>(bytes.data()) != kMagic)
    return loss("bad magic at offset 0");
  if (const uint16_t v = LoadFixed<uint16_t>(bytes.data() + 4); v != kVersion)
    return loss(fmt::format("unsupported version {} at offset 4", v));
  if (LoadFixed<uint16_t>(bytes.data() + 6) != 0)
    return loss("unknown flags at offset 6");
  const uint64_t len = LoadFixed<uint64_t>(bytes.data() + 8);
  if (len != bytes.size() - kHeader) {
    return loss(
        fmt::format("body length {} at offset 8 does not match the {} "
                    "bytes after the header",
                    len, bytes.size() - kHeader));
  }
  const std::string_view body = bytes.substr(kHeader);
  if (Checksum64(body) != LoadFixed<uint64_t>(bytes.data() + 16))
    return loss("checksum mismatch at offset 16");

  using K = Partial::Kind;
  Reader r(body);
  Partial p;
  size_t at = r.offset();
  FB_ASSIGN_OR_RETURN(auto kind, r.Fixed<uint8_t>("kind"));
  if (kind == 0 || kind > Partial::kMaxKind)
    return r.Bad(at, fmt::format("unknown kind {}", kind));
  p.kind = K(kind);
  FB_ASSIGN_OR_RETURN(auto call_len, r.Fixed<uint32_t>("call length"));
  FB_ASSIGN_OR_RETURN(auto call, r.Bytes(call_len, "call"));
  p.call = std::string(call);
  FB_ASSIGN_OR_RETURN(auto cap, r.Fixed<uint64_t>("cap"));
  p.cap = cap;
  auto flag = [&](std::string_view what) -> absl::StatusOr<bool> {
    const size_t flag_at = r.offset();
    FB_ASSIGN_OR_RETURN(auto b, r.Fixed<uint8_t>(what));
    if (b > 1)
      return r.Bad(flag_at, fmt::format("{} {} is not 0 or 1", what, b));
    return b == 1;
  };
  auto capped = [&](size_t n) { return p.cap == 0 || n <= p.cap; };
  switch (p.kind) {
    case K::kRow: {
      FB_ASSIGN_OR_RETURN(auto n, r.Count(1, "bitmap"));
      FB_ASSIGN_OR_RETURN(auto bits, r.Bytes(n, "bitmap"));
      auto b = Bitmap::Deserialize(bits);
      if (!b.ok()) return Annotate(b.status(), "decode partial result");
      p.row = std::move(*b);
      if (!capped(p.row.Cardinality()))
        return r.Bad(r.offset(), "more records than the cap");
      break;
    }
    case K::kCount:
    case K::kBool: {
      at = r.offset();
      FB_ASSIGN_OR_RETURN(auto n, r.Fixed<uint64_t>("count"));
      if (p.kind == K::kBool && n > 1)
        return r.Bad(at, fmt::format("boolean {} is not 0 or 1", n));
      p.n = n;
      break;
    }
    case K::kSum: {
      FB_ASSIGN_OR_RETURN(auto sum, r.I128("sum"));
      FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("count"));
      p.sum = sum;
      p.count = count;
      break;
    }
    case K::kMin:
    case K::kMax: {
      FB_ASSIGN_OR_RETURN(auto has, flag("presence"));
      FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("value"));
      FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("count"));
      p.has = has;
      p.value = v;
      p.count = count;
      break;
    }
    case K::kPairs: {
      FB_ASSIGN_OR_RETURN(auto src, r.Fixed<uint64_t>("filter size"));
      p.n = src;
      FB_ASSIGN_OR_RETURN(auto n, r.Count(24, "pair"));
      p.pairs.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        FB_ASSIGN_OR_RETURN(auto row, r.Fixed<uint64_t>("pair"));
        FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("pair"));
        FB_ASSIGN_OR_RETURN(auto size, r.Fixed<uint64_t>("pair"));
        if (!p.pairs.empty() && row <= p.pairs.back().row)
          return r.Bad(at, "pair rows not strictly increasing");
        p.pairs.push_back({row, count, size});
      }
      break;
    }
    case K::kRowIds: {
      FB_ASSIGN_OR_RETURN(auto n, r.Count(8, "row"));
      if (!capped(n)) return r.Bad(r.offset(), "more rows than the cap");
      p.ids.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        FB_ASSIGN_OR_RETURN(auto id, r.Fixed<uint64_t>("row"));
        if (!p.ids.empty() && id <= p.ids.back())
          return r.Bad(at, "rows not strictly increasing");
        p.ids.push_back(id);
      }
      break;
    }
    case K::kGroups: {
      at = r.offset();
      FB_ASSIGN_OR_RETURN(auto width, r.Fixed<uint32_t>("group width"));
      if (width == 0) return r.Bad(at, "group width 0");
      p.width = width;
      FB_ASSIGN_OR_RETURN(auto n, r.Count(size_t{8} * width + 32, "group"));
      if (!capped(n)) return r.Bad(r.offset(), "more groups than the cap");
      p.groups.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        PartialGroup g;
        for (uint32_t k = 0; k < width; ++k) {
          FB_ASSIGN_OR_RETURN(auto row, r.Fixed<uint64_t>("group row"));
          g.rows.push_back(row);
        }
        if (!p.groups.empty() && g.rows <= p.groups.back().rows)
          return r.Bad(at, "groups not strictly increasing");
        FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("group count"));
        FB_ASSIGN_OR_RETURN(auto sum, r.I128("group sum"));
        g.count = count;
        g.sum = sum;
        FB_ASSIGN_OR_RETURN(auto m, r.Count(8, "distinct value"));
        g.distinct.reserve(m);
        for (uint64_t k = 0; k < m; ++k) {
          at = r.offset();
          FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("distinct value"));
          if (!g.distinct.empty() && v <= g.distinct.back())
            return r.Bad(at, "distinct values not strictly increasing");
          g.distinct.push_back(v);
        }
        p.groups.push_back(std::move(g));
      }
      break;
    }
    case K::kSorted: {
      FB_ASSIGN_OR_RETURN(auto desc, flag("order"));
      p.desc = desc;
      FB_ASSIGN_OR_RETURN(auto n, r.Count(16, "sorted record"));
      if (!capped(n)) return r.Bad(r.offset(), "more records than the cap");
      p.sorted.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("sorted record"));
        FB_ASSIGN_OR_RETURN(auto col, r.Fixed<uint64_t>("sorted record"));
        std::pair<int64_t, uint64_t> e{v, col};
        if (!p.sorted.empty() && !SortedBefore(desc, p.sorted.back(), e))
          return r.Bad(at, "records out of order");
        p.sorted.push_back(e);
      }
      break;
    }
    case K::kTable: {
      FB_ASSIGN_OR_RETURN(auto width, r.Fixed<uint32_t>("column width"));
      p.width = width;
      FB_ASSIGN_OR_RETURN(auto n, r.Count(8 + size_t(width), "column"));
      p.table.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        PartialColumn c;
        FB_ASSIGN_OR_RETURN(auto col, r.Fixed<uint64_t>("column"));
        if (!p.table.empty() && col <= p.table.back().column)
          return r.Bad(at, "columns not strictly increasing");
        c.column = col;
        for (uint32_t k = 0; k < width; ++k) {
          at = r.offset();
          PartialCell cell;
          FB_ASSIGN_OR_RETURN(auto tag, r.Fixed<uint8_t>("cell"));
          if (tag > 2)
            return r.Bad(at, fmt::format("unknown cell tag {}", tag));
          cell.tag = PartialCell::Tag(tag);
          if (cell.tag == PartialCell::Tag::kRows) {
            FB_ASSIGN_OR_RETURN(auto m, r.Count(8, "cell row"));
            for (uint64_t j = 0; j < m; ++j) {
              at = r.offset();
              FB_ASSIGN_OR_RETURN(auto row, r.Fixed<uint64_t>("cell row"));
              if (!cell.rows.empty() && row <= cell.rows.back())
                return r.Bad(at, "cell rows not strictly increasing");
              cell.rows.push_back(row);
            }
          } else if (cell.tag == PartialCell::Tag::kValue) {
            FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("cell value"));
            cell.value = v;
          }
          c.cells.push_back(std::move(cell));
        }
        p.table.push_back(std::move(c));
      }
      break;
    }
    case K::kMinRow:
    case K::kMaxRow: {
      FB_ASSIGN_OR_RETURN(auto has, flag("presence"));
      FB_ASSIGN_OR_RETURN(auto id, r.Fixed<uint64_t>("row"));
      FB_ASSIGN_OR_RETURN(auto count, r.Fixed<uint64_t>("count"));
      FB_ASSIGN_OR_RETURN(auto filtered, flag("filter flag"));
      p.has = has;
      p.id = id;
      p.count = count;
      p.n = filtered;
      break;
    }
    case K::kFieldValue: {
      FB_ASSIGN_OR_RETURN(auto has, flag("presence"));
      FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("value"));
      p.has = has;
      p.value = v;
      break;
    }
    case K::kValues: {
      FB_ASSIGN_OR_RETURN(auto n, r.Count(8, "value"));
      p.values.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        at = r.offset();
        FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("value"));
        if (!p.values.empty() && v <= p.values.back())
          return r.Bad(at, "values not strictly increasing");
        p.values.push_back(v);
      }
      break;
    }
  }
  if (!r.done()) {
    return r.Bad(r.offset(), fmt::format("{} bytes left over",
                                         body.size() + kHeader - r.offset()));
  }
  return p;
}

}  // namespace featurebase::internal
