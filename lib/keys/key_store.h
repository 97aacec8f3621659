// KeyStore: the single-threaded core of KeyTranslator: a key arena, a compact
// open-addressing hash table (key -> arena offset), an id -> arena offset
// map, and the partition-local id allocator. KeyTranslator adds the locking,
// the log and the public contracts.
//
// Memory per key (the budget is 32 bytes beyond the key bytes):
//   arena record    1 byte length (keys < 64 bytes) + varint id (5 bytes for
//                   ids below 2^35, i.e. shards below 32768)
//   hash table      one 8-byte slot per 0.53..0.8 keys: 10..15 bytes
//   id -> offset    8 bytes, in 8 KiB pages allocated as ids fill a shard
// so about 24..29 bytes for 16-byte keys. absl::flat_hash_map<string_view,
// uint64_t> would need 24 bytes per slot plus a control byte at load <= 7/8
// plus the key storage plus a reverse map, well over budget; hence this
// table.
//
// Thread-safety: thread-compatible. Const methods may run concurrently with
// each other; KeyTranslator holds its reader lock for them and its writer
// lock for mutations. GrownTable is const and only reads, so the single
// writer can build a larger table while readers keep using the old one.
#ifndef FEATUREBASE_LIB_KEYS_KEY_STORE_H_
#define FEATUREBASE_LIB_KEYS_KEY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/partitioner.h"
#include "featurebase/shard.h"
#include "featurebase/status.h"

namespace featurebase::internal {

inline constexpr size_t kMaxKeyBytes = 65536;

// XXH3-64 of the key with the partition seed: the same hash picks the key's
// partition (its high bits, multiply-shift) and its table slot.
uint64_t KeyHash(std::string_view key);

// Append-only storage of records `varint(len << 1 | dead) key varint(id)`, in
// blocks of at most 4 MiB that never move once full (the last block grows by
// doubling under the writer lock). A record never spans two blocks; its
// offset is block << 22 | position.
class KeyArena {
 public:
  static constexpr int kBlockBits = 22;
  static constexpr size_t kBlockBytes = size_t{1} << kBlockBits;

  uint64_t Append(std::string_view key, uint64_t id);
  const char* At(uint64_t offset) const {
    return blocks_[offset >> kBlockBits].data() + (offset & (kBlockBytes - 1));
  }
  char* MutableAt(uint64_t offset) {
    return blocks_[offset >> kBlockBits].data() + (offset & (kBlockBytes - 1));
  }
  // Whether the arena reached the 2^40-byte offset limit (less one block).
  bool Full() const {
    return blocks_.size() >= (size_t{1} << (40 - kBlockBits)) - 1;
  }
  // Reserves room for `bytes` more record bytes (a hint for bulk decode).
  void Reserve(size_t bytes);
  size_t MemoryBytes() const;

  // Calls f(offset, record) for every record (a KeyRecord, below) in offset
  // order.
  template <typename F>
  void ForEach(F&& f) const;

 private:
  std::vector<std::vector<char>> blocks_;
};

// The parsed view of one arena record.
struct KeyRecord {
  std::string_view key;
  uint64_t id;
  bool dead;
  size_t size;  // encoded bytes
};
KeyRecord ParseRecord(const char* p);

// Open addressing with linear probing over 8-byte slots:
// slot = (arena offset + 1) << 24 | 24 tag bits of the hash; 0 is empty,
// all-ones a tombstone. The home slot is the multiply-shift reduction of the
// hash rotated by 32 bits, so it depends on the hash's low bits, which are
// independent of the partition (high bits) and of the tag (bits 32..55): a
// store holding the keys of a few partitions still spreads evenly.
class KeyTable {
 public:
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = ~uint64_t{0};
  static constexpr uint64_t kMaxOffset = (uint64_t{1} << 40) - 3;

  KeyTable() = default;
  explicit KeyTable(uint64_t capacity);

  static uint64_t Tag(uint64_t h) { return (h >> 32) & 0xFFFFFF; }
  static uint64_t Slot(uint64_t offset, uint64_t h) {
    return ((offset + 1) << 24) | Tag(h);
  }
  static uint64_t OffsetOf(uint64_t slot) { return (slot >> 24) - 1; }
  uint64_t Home(uint64_t h) const {
    const uint64_t r = (h << 32) | (h >> 32);
    return uint64_t((static_cast<unsigned __int128>(r) * capacity_) >> 64);
  }
  uint64_t Next(uint64_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }

  uint64_t capacity() const { return capacity_; }
  uint64_t* slots() const { return slots_.get(); }

  // Places a slot for a key known to be absent (rebuilds, decode).
  void InsertNew(uint64_t h, uint64_t slot);

  uint64_t live = 0;
  uint64_t tombstones = 0;

 private:
  struct FreeSlots {
    void operator()(uint64_t* p) const;
  };
  std::unique_ptr<uint64_t[], FreeSlots> slots_;
  uint64_t capacity_ = 0;
};

class KeyStore {
 public:
  explicit KeyStore(const HashPartitioner& partitioner);

  const HashPartitioner& partitioner() const { return partitioner_; }
  uint64_t size() const { return table_.live; }
  size_t key_bytes() const { return key_bytes_; }
  size_t MemoryBytes() const;

  // ------------------------------------------------------------ reads
  // The id of `key` (hash `h`), or 0.
  uint64_t Find(std::string_view key, uint64_t h) const;
  // ids[i] = Find(keys[i]) (0 for empty keys), hashing and prefetching in
  // blocks. Keys must be at most kMaxKeyBytes long.
  void FindMany(const std::string_view* keys, size_t n, uint64_t* ids) const;
  // The key of `id`; false if it has none.
  bool KeyOf(uint64_t id, std::string_view* key) const;

  // ------------------------------------------------------------ writes
  // Prefetches the home slot of hash `h` (a create loop runs ahead).
  void PrefetchHome(uint64_t h) const {
    if (table_.capacity() != 0)
      __builtin_prefetch(&table_.slots()[table_.Home(h)]);
  }
  // Whether inserting `extra` more keys needs a larger table.
  bool NeedsGrowth(size_t extra) const;
  // A rebuilt table with room for `extra` more keys (reads only).
  KeyTable GrownTable(size_t extra) const;
  void SwapTable(KeyTable&& table) { table_ = std::move(table); }

  // The id of `key` (non-empty, hash `h`), creating it if absent (then
  // *created = true). Returns 0 when the key's partition has no id left or
  // the arena is full (2^40 bytes).
  // Precondition: !NeedsGrowth(1).
  uint64_t FindOrCreate(std::string_view key, uint64_t h, bool* created);
  // Deletes the key of `id` and frees the id; false if `id` has no key.
  bool Delete(uint64_t id);

  // ------------------------------------------------------------ snapshot
  // Appends the snapshot body (docs/format.md) covering `sequence`.
  void EncodeBody(uint64_t sequence, std::string* out) const;
  // Decodes a snapshot body; `base` is the body's offset in the snapshot
  // (for messages). Sets *sequence.
  static StatusOr<std::unique_ptr<KeyStore>> DecodeBody(std::string_view body,
                                                        size_t base,
                                                        uint64_t* sequence);

 private:
  struct Partition {
    uint64_t hwm = 0;             // local column indexes used so far
    uint64_t live = 0;            // keys holding an id of this partition
    std::vector<uint64_t> free;   // freed ids, a min-heap
    std::vector<uint64_t> owned;  // shards owned, ascending (scanned so far)
  };
  static constexpr int kPageBits = 10;
  static constexpr uint64_t kPageSize = uint64_t{1} << kPageBits;
  // Ids are below 2^64, so shards below 2^44.
  static constexpr uint64_t kShardLimit = uint64_t{1}
                                          << (64 - kShardWidthExponent);

  uint64_t RevGet(uint64_t id) const;
  void RevSet(uint64_t id, uint64_t value);
  void PrefetchRev(uint64_t id) const;
  // The rank-th shard owned by partition p, scanning shards as needed.
  uint64_t OwnedShard(uint32_t p, uint64_t rank);
  void ScanShard();
  uint64_t Allocate(uint32_t p);
  // Probes from the home of h; returns the id or 0, and the first reusable
  // slot index in *insert_at.
  uint64_t Probe(std::string_view key, uint64_t h, uint64_t start,
                 uint64_t* insert_at) const;
  bool Matches(uint64_t slot, std::string_view key, uint64_t* id) const;

  HashPartitioner partitioner_;
  KeyArena arena_;
  KeyTable table_;
  // id -> arena offset + 1 (0: none), by shard then 4096-id page.
  std::vector<std::vector<std::unique_ptr<uint64_t[]>>> rev_;
  std::vector<Partition> parts_;
  std::vector<uint32_t> shard_part_;  // partition of each scanned shard
  std::vector<uint32_t> shard_rank_;  // its rank among its partition's shards
  size_t key_bytes_ = 0;
  size_t rev_pages_ = 0;
};

template <typename F>
void KeyArena::ForEach(F&& f) const {
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const std::vector<char>& block = blocks_[b];
    size_t pos = 0;
    while (pos < block.size()) {
      KeyRecord r = ParseRecord(block.data() + pos);
      f((uint64_t(b) << kBlockBits) | pos, r);
      pos += r.size;
    }
  }
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_KEYS_KEY_STORE_H_
