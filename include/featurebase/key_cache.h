// KeyCache: the batch ingester's cache of recent key -> id translations
// (FeatureBase's `cache-length`).
//
// The ingester looks every key of a batch up here first, translates the
// misses in one bulk KeyTranslator call, inserts them, and calls EndBatch()
// after each batch. An entry survives while it was used (looked up or
// inserted) within the last cache_length batches: at cycle c, an entry last
// used at cycle u is evicted once c - u > cache_length. Cycles only grow and
// u <= c always, so the age never underflows (FeatureBase computes
// lastUsed - cycle on unsigned integers and evicts almost everything).
//
// Translations of deleted keys must be dropped with Erase (or Clear), since
// freed ids are reused.
//
// Thread-safety: thread-compatible (one ingester owns one cache).
#ifndef FEATUREBASE_KEY_CACHE_H_
#define FEATUREBASE_KEY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace featurebase {

class KeyCache {
 public:
  // FeatureBase's default: 64 batches.
  static constexpr uint64_t kDefaultCacheLength = 64;

  // cache_length: batches an unused entry survives. 0 keeps only entries
  // used in the current batch.
  explicit KeyCache(uint64_t cache_length = kDefaultCacheLength);
  ~KeyCache();
  KeyCache(KeyCache&&) noexcept;
  KeyCache& operator=(KeyCache&&) noexcept;

  // The cached id of `key`, marking it used in the current batch; nullopt on
  // a miss (absent or expired). Counts a hit or a miss.
  std::optional<uint64_t> Lookup(std::string_view key);

  // Caches key -> id, used in the current batch (replaces an older id).
  void Insert(std::string_view key, uint64_t id);

  // Drops `key` (after its record was deleted). Returns whether it was
  // cached.
  bool Erase(std::string_view key);
  void Clear();

  // Ends the current batch: advances the cycle and reclaims the memory of
  // expired entries (a sweep every max(1, cache_length / 2) batches, so the
  // cost is amortized; expired entries are never returned in between).
  void EndBatch();

  // Lookups that hit / missed, cumulative since construction (Clear and
  // EndBatch do not reset them; take differences for per-batch figures).
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  // Entries held, including expired ones not yet swept.
  size_t size() const;
  uint64_t cycle() const { return cycle_; }
  uint64_t cache_length() const { return cache_length_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t cache_length_;
  uint64_t cycle_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace featurebase

#endif  // FEATUREBASE_KEY_CACHE_H_
