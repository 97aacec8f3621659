// Extract: the values of some fields for each record of a row call, as a
// table by record (merged across shards by column).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/partial_codec.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;

namespace {

absl::StatusOr<std::vector<const FieldState*>> ExtractFields(ExecState& es,
                                                             const Call& c) {
  if (c.children.empty()) return CallError(c, "requires a row call");
  std::vector<const FieldState*> fields;
  for (size_t i = 1; i < c.children.size(); ++i) {
    const Call& k = c.children[i];
    if (k.name != "Rows")
      return CallError(c, "fields must be given as Rows calls");
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(k));
    FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
    fields.push_back(f);
  }
  return fields;
}

}  // namespace

absl::StatusOr<Partial> Extract(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(std::vector<const FieldState*> fields,
                      ExtractFields(es, c));
  // The table's records in order: ascending, or Sort's order and slice
  // (FeatureBase keeps it in the extracted table).
  std::vector<uint64_t> order;
  Bitmap cols;
  if (const Call& k = c.children[0]; k.name == "Sort") {
    if (es.partial) {
      return CallError(c,
                       "Sort inside Extract cannot run as a partial result "
                       "(its order and slice span every shard)");
    }
    FB_ASSIGN_OR_RETURN(Partial sorted, Sort(es, k));
    FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(k, "limit", UINT64_MAX));
    FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(k, "offset", 0));
    const auto& all = sorted.As<SortedPart>()->sorted;
    const size_t begin = std::min<uint64_t>(offset, all.size());
    const size_t end = limit >= all.size() - begin ? all.size() : begin + limit;
    for (size_t i = begin; i < end; ++i) {
      order.push_back(all[i].second);
      cols.Add(all[i].second);
    }
  } else {
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, k));
    cols = EvalGlobal(es, node);
  }
  const std::vector<uint64_t> ids = cols.ToVector();
  if (order.empty()) order = ids;
  // values[field][column index] = rows of that column.
  std::vector<std::vector<std::vector<uint64_t>>> values(
      fields.size(), std::vector<std::vector<uint64_t>>(ids.size()));
  for (size_t fi = 0; fi < fields.size(); ++fi) {
    const FieldState* f = fields[fi];
    const View* view = f->views.Find(kStandardView);
    if (view == nullptr) continue;
    for (const auto& chunk : BitmapAccess::Chunks(cols)) {
      const Fragment* frag = view->Find(chunk.key);
      if (frag == nullptr) continue;
      const uint64_t base = ShardStart(chunk.key);
      frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
        const auto at = [&](uint32_t off) {
          const uint64_t col = base + off;
          const size_t idx =
              std::lower_bound(ids.begin(), ids.end(), col) - ids.begin();
          values[fi][idx].push_back(row);
        };
        if (const Roaring32* big = r.roaring()) {
          Roaring32::And(*big, chunk.bits).ForEach(at);
        } else {
          r.ForEach([&](uint32_t off) {
            if (chunk.bits.Contains(off)) at(off);
          });
        }
        return true;
      });
    }
  }
  TablePart p;
  p.width = uint32_t(fields.size());
  p.table.resize(order.size());
  for (size_t oi = 0; oi < order.size(); ++oi) {
    PartialColumn& col = p.table[oi];
    const size_t ci =
        std::lower_bound(ids.begin(), ids.end(), order[oi]) - ids.begin();
    col.column = ids[ci];
    col.cells.resize(fields.size());
    for (size_t fi = 0; fi < fields.size(); ++fi) {
      const FieldState* f = fields[fi];
      PartialCell& cell = col.cells[fi];
      if (f->bsi) {
        const BsiShard* bs = f->bsi_shards.Find(ShardOf(ids[ci]));
        const std::optional<int64_t> v =
            bs ? bs->Value(OffsetInShard(ids[ci])) : std::nullopt;
        if (v) {
          cell.tag = PartialCell::Tag::kValue;
          cell.value = f->bsi->ToRaw(*v);
        }
        continue;
      }
      cell.tag = PartialCell::Tag::kRows;
      cell.rows = std::move(values[fi][ci]);
    }
  }
  return Partial(std::move(p));
}

absl::StatusOr<QueryResult> FinishExtract(ExecState& es, const Call& c,
                                          const TablePart& p) {
  FB_ASSIGN_OR_RETURN(std::vector<const FieldState*> fields,
                      ExtractFields(es, c));
  if (fields.size() != p.width)
    return CallError(c, "the partial result extracts other fields");
  std::string json = "{\"fields\":[";
  for (size_t fi = 0; fi < fields.size(); ++fi) {
    if (fi) json += ',';
    json += "{\"name\":";
    AppendJsonString(&json, fields[fi]->name);
    json += ",\"type\":";
    AppendJsonString(&json, FieldTypeName(fields[fi]->options.type));
    json += "}";
  }
  json += "],\"columns\":[";
  for (size_t ci = 0; ci < p.table.size(); ++ci) {
    const PartialColumn& col = p.table[ci];
    if (ci) json += ',';
    json += "{\"column\":";
    if (es.st->column_keys) {
      auto key = es.st->column_keys->TranslateId(col.column);
      AppendJsonString(&json, key.ok() ? *key : std::string());
    } else {
      json += fmt::format("{}", col.column);
    }
    json += ",\"rows\":[";
    for (size_t fi = 0; fi < fields.size(); ++fi) {
      if (fi) json += ',';
      const FieldState* f = fields[fi];
      const PartialCell& cell = col.cells[fi];
      const std::vector<uint64_t>& rows = cell.rows;
      auto one = [&](uint64_t r) {
        if (f->row_keys) {
          auto key = f->row_keys->TranslateId(r);
          AppendJsonString(&json, key.ok() ? *key : std::string());
        } else {
          json += fmt::format("{}", r);
        }
      };
      if (f->bsi) {
        json += cell.tag == PartialCell::Tag::kValue ? ValueJson(*f, cell.value)
                                                     : "null";
      } else if (f->options.type == FieldType::kBool) {
        json += rows.empty() ? "null" : (rows[0] == 1 ? "true" : "false");
      } else if (f->options.type == FieldType::kMutex) {
        if (rows.empty()) {
          json += "null";
        } else {
          one(rows[0]);
        }
      } else {
        json += "[";
        for (size_t k = 0; k < rows.size(); ++k) {
          if (k) json += ',';
          one(rows[k]);
        }
        json += "]";
      }
    }
    json += "]}";
  }
  json += "]}";
  return ResultAccess::Make(QueryResult::Kind::kTable, std::move(json));
}

// ---- partial kinds

void TablePart::Merge(const TablePart& from) {
  std::vector<PartialColumn> out;
  std::merge(table.begin(), table.end(), from.table.begin(), from.table.end(),
             std::back_inserter(out),
             [](const PartialColumn& a, const PartialColumn& b) {
               return a.column < b.column;
             });
  // A record lives in one shard, so parts never share one; keep the first
  // copy if a caller merges a part twice.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const PartialColumn& a, const PartialColumn& b) {
                          return a.column == b.column;
                        }),
            out.end());
  table = std::move(out);
}
void TablePart::Encode(std::string* out) const {
  PutFixed<uint32_t>(out, width);
  PutFixed<uint64_t>(out, table.size());
  for (const PartialColumn& c : table) {
    PutFixed<uint64_t>(out, c.column);
    for (const PartialCell& cell : c.cells) {
      out->push_back(char(cell.tag));
      if (cell.tag == PartialCell::Tag::kRows) {
        PutFixed<uint64_t>(out, cell.rows.size());
        for (uint64_t r : cell.rows) PutFixed<uint64_t>(out, r);
      } else if (cell.tag == PartialCell::Tag::kValue) {
        PutFixed<int64_t>(out, cell.value);
      }
    }
  }
}
absl::StatusOr<TablePart> TablePart::Decode(PartialReader& r, uint64_t) {
  TablePart p;
  FB_ASSIGN_OR_RETURN(p.width, r.Fixed<uint32_t>("column width"));
  FB_ASSIGN_OR_RETURN(auto n, r.Count(8 + size_t(p.width), "column"));
  p.table.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    size_t at = r.offset();
    PartialColumn c;
    FB_ASSIGN_OR_RETURN(c.column, r.Fixed<uint64_t>("column"));
    if (!p.table.empty() && c.column <= p.table.back().column)
      return r.Bad(at, "columns not strictly increasing");
    for (uint32_t k = 0; k < p.width; ++k) {
      at = r.offset();
      PartialCell cell;
      FB_ASSIGN_OR_RETURN(auto tag, r.Fixed<uint8_t>("cell"));
      if (tag > 2) return r.Bad(at, fmt::format("unknown cell tag {}", tag));
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
        FB_ASSIGN_OR_RETURN(cell.value, r.Fixed<int64_t>("cell value"));
      }
      c.cells.push_back(std::move(cell));
    }
    p.table.push_back(std::move(c));
  }
  return p;
}

}  // namespace featurebase::internal
