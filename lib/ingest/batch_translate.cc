// Batch, stage 2: key translation (batch_translate.h).
#include "lib/ingest/batch_translate.h"

#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {
namespace {

absl::StatusOr<std::vector<uint64_t>> TranslateColumnKeys(
    const IndexState& state, const StagedBatch& batch, KeyCache* cache) {
  const size_t n = batch.n;
  const std::vector<std::string>& keys = batch.col_keys;
  std::vector<uint64_t> ids(n, 0);
  std::vector<std::string_view> misses;
  // (record, index in misses) of every record whose key missed.
  std::vector<std::pair<uint32_t, uint32_t>> miss_pos;
  absl::flat_hash_map<std::string_view, uint32_t> first_miss;
  for (size_t i = 0; i < n; ++i) {
    if (auto hit = cache->Lookup(keys[i])) {
      ids[i] = *hit;
      continue;
    }
    auto [it, fresh] = first_miss.try_emplace(keys[i], uint32_t(misses.size()));
    if (fresh) misses.push_back(keys[i]);
    miss_pos.emplace_back(uint32_t(i), it->second);
  }
  std::vector<uint64_t> got(misses.size());
  FB_RETURN_IF_ERROR(state.column_keys->CreateKeys(misses, got));
  for (size_t m = 0; m < misses.size(); ++m) cache->Insert(misses[m], got[m]);
  for (const auto& [i, m] : miss_pos) ids[i] = got[m];
  return ids;
}

absl::StatusOr<std::vector<uint64_t>> TranslateRowKeys(const FieldState& f,
                                                       BatchColumn* col) {
  std::vector<uint64_t> ids(col->keys.size(), 0);
  std::vector<std::string_view> misses;
  std::vector<size_t> miss_pos;
  for (size_t k = 0; k < col->keys.size(); ++k) {
    if (auto hit = col->cache->Lookup(col->keys[k])) {
      ids[k] = *hit;
    } else {
      misses.push_back(col->keys[k]);
      miss_pos.push_back(k);
    }
  }
  std::vector<uint64_t> got(misses.size());
  FB_RETURN_IF_ERROR(f.row_keys->CreateKeys(misses, got));
  for (size_t m = 0; m < misses.size(); ++m) {
    col->cache->Insert(misses[m], got[m]);
    ids[miss_pos[m]] = got[m];
  }
  return ids;
}

}  // namespace

absl::StatusOr<TranslatedKeys> TranslateKeys(const IndexState& state,
                                             StagedBatch& batch,
                                             KeyCache* column_cache) {
  TranslatedKeys out;
  if (batch.keyed_index) {
    FB_ASSIGN_OR_RETURN(out.record_ids,
                        TranslateColumnKeys(state, batch, column_cache));
  }
  out.row_ids.resize(batch.columns.size());
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    BatchColumn& col = batch.columns[c];
    if (col.kind == BatchColumn::Kind::kRows && col.keyed) {
      FB_ASSIGN_OR_RETURN(out.row_ids[c],
                          TranslateRowKeys(*state.FindField(col.name), &col));
    }
  }
  if (batch.has_packed) {
    std::vector<std::string_view> names;
    for (const BatchColumn& col : batch.columns) {
      if (col.kind == BatchColumn::Kind::kPackedBool) names.push_back(col.name);
    }
    out.packed_rows.resize(names.size());
    for (const char* f : {"bools", "bools-exists"}) {
      FB_RETURN_IF_ERROR(
          state.FindField(f)->row_keys->CreateKeys(names, out.packed_rows));
    }
  }
  return out;
}

}  // namespace featurebase::internal
