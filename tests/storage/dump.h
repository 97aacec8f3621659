// A canonical text rendering of everything an index version holds, for
// tests that compare a durable index with the in-memory index given the
// same writes: fields and options, every non-empty row of every view of
// every shard, value-field values, existence, counters, stream offsets and
// the keys of every id in use.
#ifndef FEATUREBASE_TESTS_STORAGE_DUMP_H_
#define FEATUREBASE_TESTS_STORAGE_DUMP_H_

#include <string>
#include <vector>

#include "featurebase/index.h"
#include "fmt/format.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"

namespace featurebase::testing {

inline std::string DumpIds(const std::vector<uint32_t>& v) {
  std::string out;
  for (uint32_t x : v) out += fmt::format(" {}", x);
  return out;
}

inline std::string DumpKeys(const KeyTranslator* keys,
                            const std::vector<uint64_t>& ids) {
  if (keys == nullptr) return "";
  std::string out = fmt::format(" keys={}:", keys->size());
  std::vector<std::string> names;
  if (!keys->TranslateIds(ids, &names).ok()) return out + "<missing key>";
  for (size_t i = 0; i < ids.size(); ++i)
    out += fmt::format(" {}={}", ids[i], names[i]);
  return out;
}

// `with_version`: include the commit number (a durable index commits key
// changes made outside commits on their own, so its numbers run ahead of an
// in-memory index given the same calls).
inline std::string DumpState(const internal::IndexState& s,
                             bool with_version = false) {
  using namespace featurebase::internal;
  std::string out = fmt::format(
      "index {} version {} keys {} exist {} partitions {} next_id {} "
      "key_deletes {}\n",
      s.name, with_version ? s.version : 0, s.options.keys,
      s.options.track_existence, s.options.partitions, s.next_auto_id,
      s.column_key_deletes);
  for (const auto& [src, off] : s.stream_offsets)
    out += fmt::format("offset {}={}\n", src, off);
  std::vector<uint64_t> columns;
  s.exists.ForEach([&](uint64_t shard, const Fragment& f) {
    if (const internal::RowData* r = f.Row(0)) {
      std::vector<uint32_t> v;
      r->AppendTo(&v);
      if (!v.empty()) out += fmt::format("exists {}:{}\n", shard, DumpIds(v));
      for (uint32_t o : v) columns.push_back((shard << 20) | o);
    }
    return true;
  });
  if (s.column_keys) out += DumpKeys(s.column_keys.get(), columns) + "\n";
  for (const auto& [name, f] : s.fields) {
    const FieldOptions& o = f->options;
    out += fmt::format(
        "field {} type {} keys {} quantum {} nsv {} ttl {} min {} max {} "
        "scale {} epoch {} unit {} depth {}\n",
        name, FieldTypeName(o.type), o.keys, o.time_quantum.ToString(),
        o.no_standard_view, absl::FormatDuration(o.ttl), o.min, o.max, o.scale,
        absl::FormatTime(o.epoch), TimeUnitName(o.time_unit),
        f->bsi ? f->bsi->bit_depth() : -1);
    std::vector<uint64_t> rows;
    f->views.ForEach([&](uint64_t vk, const View& view) {
      view.ForEach([&](uint64_t shard, const Fragment& frag) {
        frag.rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          std::vector<uint32_t> v;
          r.AppendTo(&v);
          if (v.empty()) return true;
          out += fmt::format("  view {} shard {} row {}:{}\n", vk, shard, row,
                             DumpIds(v));
          if (vk != kExistenceView) rows.push_back(row);
          if (frag.mode() == Fragment::Mode::kMutex) {
            for (uint32_t off : v) {
              if (frag.RowOf(off) != row)
                out += fmt::format("  BAD mutex side table at {}\n", off);
            }
          }
          return true;
        });
        return true;
      });
      return true;
    });
    f->bsi_shards.ForEach([&](uint64_t shard, const BsiShard& bs) {
      for (const auto& [off, v] : bs.Values(nullptr))
        out += fmt::format("  value {}:{}={}\n", shard, off, v);
      return true;
    });
    if (f->row_keys) {
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
      out += " " + DumpKeys(f->row_keys.get(), rows) + "\n";
    }
  }
  return out;
}

inline std::string DumpIndex(const Snapshot& snap, bool with_version = false) {
  return DumpState(internal::SnapshotAccess::State(snap), with_version);
}

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_STORAGE_DUMP_H_
