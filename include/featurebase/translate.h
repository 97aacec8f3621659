// KeyTranslator: string keys <-> integer ids, for record (column) keys of a
// keyed index and for row keys of a keyed field.
//
// Conventions shared by every call:
//   * Id 0 means "no id". The empty key is a null value: it never gets an id,
//     finds id 0, and id 0 translates back to the empty key. Neither is an
//     error.
//   * A key is at most kMaxKeyBytes (65536) bytes of valid UTF-8 (keys are
//     printed in JSON, where invalid bytes would make distinct keys print
//     alike); a longer or invalid key is InvalidArgument naming its
//     position, and a bulk call that contains one changes nothing.
//   * Record (column) translators are partitioned (partitioner.h): a new key
//     of partition p = KeyPartition(key) gets the lowest freed id of p if
//     there is one, else the next unused column of the lowest shard owned by
//     p that still has unused columns. Columns are used in order from the
//     shard's first column; column 0 (id 0) is never used. So the first id of
//     partition p is ShardStart(k), or 1 when k = 0, where k is the first
//     shard with ShardPartition(k) == p.
//   * Row translators are a translator with one partition, which owns every
//     shard: ids are 1, 2, 3, ... in creation order, freed ids reused first
//     (lowest first).
//
// Persistence hooks for the storage layer (docs/format.md, "Key translation
// snapshot and log"): every mutation (a created key, a deleted id) gets the
// next sequence number; mutating calls append log frames describing exactly
// what they did to an optional `log` string, which the storage layer writes
// to its write-ahead log. EncodeSnapshot writes the whole state with the
// sequence it covers; DecodeSnapshot + ApplyLog (of the frames written after
// it) rebuild the translator, skipping entries the snapshot already covers.
//
// Thread-safety: thread-safe. Any number of readers (Find*, Translate*,
// EncodeSnapshot, counters) run concurrently with each other and with one
// writer; concurrent writers (Create*, DeleteIds, ApplyLog) are serialized.
// A writer holds the exclusive lock for at most kWriteChunk keys at a time
// and grows its hash table without blocking readers, so readers never wait
// for a whole batch.
#ifndef FEATUREBASE_TRANSLATE_H_
#define FEATUREBASE_TRANSLATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/partitioner.h"
#include "featurebase/status.h"

namespace featurebase {

namespace internal {
class TranslatorState;
class TranslatorAccess;
}  // namespace internal

class KeyTranslator {
 public:
  // The longest key, in bytes.
  static constexpr size_t kMaxKeyBytes = 65536;
  // The most keys a writer handles per exclusive-lock hold.
  static constexpr size_t kWriteChunk = 4096;

  // A record-key translator partitioned by `partitioner`.
  static std::unique_ptr<KeyTranslator> NewColumnTranslator(
      const HashPartitioner& partitioner = HashPartitioner());
  // A row-key translator: ids 1, 2, 3, ... (one partition).
  static std::unique_ptr<KeyTranslator> NewRowTranslator();

  KeyTranslator(const KeyTranslator&) = delete;
  KeyTranslator& operator=(const KeyTranslator&) = delete;
  ~KeyTranslator();

  // ---------------------------------------------------------------- bulk
  // ids[i] = the id of keys[i], creating ids for keys that have none (0 for
  // empty keys). Duplicates in `keys` get the same id. When `log` is not
  // null, appends log frames for the keys created. InvalidArgument (nothing
  // created) if ids.size() != keys.size() or a key is over kMaxKeyBytes;
  // ResourceExhausted if a partition runs out of 64-bit ids or the key arena
  // reaches 1 TiB (keys before the failing one stay created and logged).
  // O(keys) expected.
  Status CreateKeys(std::span<const std::string_view> keys,
                    std::span<uint64_t> ids, std::string* log = nullptr);

  // ids[i] = the id of keys[i], or 0 when keys[i] is empty or has no id.
  // Creates nothing. InvalidArgument if ids.size() != keys.size() or a key
  // is over kMaxKeyBytes. Hashes and prefetches keys in blocks: the fast path.
  // Takes the reader lock per kWriteChunk keys, so a concurrent writer's
  // chunks may land between two chunks of one call (an id, once given, never
  // changes until its key is deleted).
  Status FindKeys(std::span<const std::string_view> keys,
                  std::span<uint64_t> ids) const;

  // keys->at(i) = the key of ids[i] (the empty key for id 0); `keys` is
  // resized to ids.size(). NotFound naming the id and its position if an id
  // has no key (then `keys` holds unspecified values).
  Status TranslateIds(std::span<const uint64_t> ids,
                      std::vector<std::string>* keys) const;

  // Deletes the keys of `ids`, freeing the ids for reuse (lowest first, per
  // partition). Ids without a key (and 0) are skipped, so replaying a delete
  // is harmless. Returns the number of keys deleted; appends log frames for
  // them when `log` is not null. The key bytes are reclaimed at the next
  // snapshot round trip (MemoryBytes counts them until then). Callers that
  // cache translations (KeyCache) must drop the deleted keys.
  StatusOr<size_t> DeleteIds(std::span<const uint64_t> ids,
                             std::string* log = nullptr);

  // ------------------------------------------------------- single key
  // Thin wrappers over the bulk calls, same contracts.
  StatusOr<uint64_t> CreateKey(std::string_view key,
                               std::string* log = nullptr);
  StatusOr<uint64_t> FindKey(std::string_view key) const;  // 0 if none
  StatusOr<std::string> TranslateId(uint64_t id) const;

  // ------------------------------------------------------- persistence
  // Appends the snapshot encoding of the whole translator (its keys, ids,
  // freed ids and sequence()) to `out`. Holds the reader lock throughout.
  // Deterministic: decoding and re-encoding gives the same bytes.
  void EncodeSnapshot(std::string* out) const;

  // The translator that `bytes` (one whole EncodeSnapshot output) encodes.
  // DataLoss naming the offset if the bytes are truncated, corrupt or
  // inconsistent. Linear in the snapshot size, no per-key allocation.
  static StatusOr<std::unique_ptr<KeyTranslator>> DecodeSnapshot(
      std::string_view bytes);

  // Applies log frames (concatenated outputs of the `log` arguments above),
  // in order. Entries with sequence <= sequence() are skipped, so a log may
  // overlap the snapshot it follows. Each frame is checked whole before any
  // of its entries applies. DataLoss naming the offset on truncated or
  // corrupt bytes, on a gap in sequence numbers, or when an entry does not
  // reproduce (a created key that gets another id, a deleted id that has no
  // key); frames before the bad one stay applied.
  Status ApplyLog(std::string_view bytes);

  // ------------------------------------------------------- counters
  // Number of live keys.
  uint64_t size() const;
  // The sequence number of the last mutation (0 for a new translator).
  uint64_t sequence() const;
  // The partitioner (one partition for row translators).
  const HashPartitioner& partitioner() const;
  // Heap bytes held (arena, hash table, id map, free lists).
  size_t MemoryBytes() const;
  // Total bytes of the live keys (MemoryBytes() - KeyBytes() is the
  // overhead).
  size_t KeyBytes() const;

 private:
  friend class internal::TranslatorAccess;
  explicit KeyTranslator(std::unique_ptr<internal::TranslatorState> state);

  std::unique_ptr<internal::TranslatorState> state_;
};

// The offset of the first byte of `s` that does not start a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence), or nullopt when `s` is valid UTF-8, as
// every key must be. O(size), ASCII eight bytes at a time. Thread-safe.
std::optional<size_t> FirstInvalidUtf8(std::string_view s);

}  // namespace featurebase

#endif  // FEATUREBASE_TRANSLATE_H_
