#include "lib/keys/key_store.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>

#include "lib/util/endian.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace featurebase::internal {
namespace {

// Unsigned LEB128.
inline size_t PutVarint(char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = char(v | 0x80);
    v >>= 7;
  }
  p[n++] = char(v);
  return n;
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Arena bytes are written only by us, so no bounds checks.
inline const char* GetVarint(const char* p, uint64_t* v) {
  uint64_t r = 0;
  int shift = 0;
  while (true) {
    const uint8_t b = uint8_t(*p++);
    r |= uint64_t(b & 0x7F) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  *v = r;
  return p;
}

// Asks for transparent huge pages on the 2 MiB-aligned interior of
// [p, p + n): the table and the arena are read at random, and with 4 KiB
// pages nearly every lookup would also miss the TLB. Advice only; failure is
// harmless.
void AdviseHugePages(void* p, size_t n) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
  if (end > begin) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
}

absl::Status Corrupt(size_t offset, std::string_view what) {
  return absl::DataLossError(
      fmt::format("decode key snapshot: {} at offset {}", what, offset));
}

// A bounds-checked little-endian reader over the snapshot body.
class Reader {
 public:
  Reader(std::string_view bytes, size_t base) : bytes_(bytes), base_(base) {}
  size_t offset() const { return base_ + pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  template <typename T>
  bool Read(T* v) {
    if (remaining() < sizeof(T)) return false;
    *v = LoadFixed<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool ReadBytes(size_t n, std::string_view* out) {
    if (remaining() < n) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  absl::Status Truncated(size_t need) const {
    return Corrupt(offset(), fmt::format("truncated (need {}, have {})", need,
                                         remaining()));
  }

 private:
  std::string_view bytes_;
  size_t base_;
  size_t pos_ = 0;
};

}  // namespace

uint64_t KeyHash(std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(),
                              HashPartitioner::kPartitionSeed);
}

KeyRecord ParseRecord(const char* p) {
  const char* start = p;
  uint64_t len_flag, id;
  p = GetVarint(p, &len_flag);
  KeyRecord r;
  r.key = std::string_view(p, len_flag >> 1);
  p = GetVarint(p + r.key.size(), &id);
  r.id = id;
  r.dead = (len_flag & 1) != 0;
  r.size = size_t(p - start);
  return r;
}

// ---------------------------------------------------------------- arena

uint64_t KeyArena::Append(std::string_view key, uint64_t id) {
  const uint64_t len_flag = uint64_t(key.size()) << 1;
  const size_t need = VarintSize(len_flag) + key.size() + VarintSize(id);
  if (blocks_.empty() || blocks_.back().size() + need > kBlockBytes) {
    blocks_.emplace_back();
    if (blocks_.size() > 1) {
      // Past the first block the translator is large: take whole blocks.
      blocks_.back().reserve(kBlockBytes);
      AdviseHugePages(blocks_.back().data(), kBlockBytes);
    }
  }
  std::vector<char>& block = blocks_.back();
  const size_t pos = block.size();
  if (pos + need > block.capacity()) {
    // Doubling up to the block size keeps small translators (a field with a
    // handful of row keys) small; copies happen under the writer lock.
    block.reserve(std::min(kBlockBytes, std::max({block.capacity() * 2,
                                                  pos + need, size_t{256}})));
  }
  block.resize(pos + need);
  char* p = block.data() + pos;
  p += PutVarint(p, len_flag);
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  PutVarint(p, id);
  return (uint64_t(blocks_.size() - 1) << kBlockBits) | pos;
}

void KeyArena::Reserve(size_t bytes) {
  // Whole blocks for a bulk load: each block is filled to at most
  // kBlockBytes, so reserve exactly and let Append open new blocks.
  if (blocks_.empty()) blocks_.emplace_back();
  std::vector<char>& block = blocks_.back();
  if (block.size() + bytes > block.capacity()) {
    block.reserve(std::min(kBlockBytes, block.size() + bytes));
    AdviseHugePages(block.data(), block.capacity());
  }
}

size_t KeyArena::MemoryBytes() const {
  size_t n = blocks_.capacity() * sizeof(std::vector<char>);
  for (const auto& b : blocks_) n += b.capacity();
  return n;
}

// ---------------------------------------------------------------- table

void KeyTable::FreeSlots::operator()(uint64_t* p) const { std::free(p); }

KeyTable::KeyTable(uint64_t capacity) : capacity_(capacity) {
  // 2 MiB alignment so that huge pages cover the whole table.
  constexpr size_t kAlign = size_t{2} << 20;
  size_t bytes = capacity * sizeof(uint64_t);
  const bool big = bytes >= kAlign;
  if (big) bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  void* p = big ? std::aligned_alloc(kAlign, bytes) : std::malloc(bytes);
  if (p == nullptr) throw std::bad_alloc();
  if (big) AdviseHugePages(p, bytes);
  std::memset(p, 0, capacity * sizeof(uint64_t));
  slots_.reset(static_cast<uint64_t*>(p));
}

void KeyTable::InsertNew(uint64_t h, uint64_t slot) {
  uint64_t i = Home(h);
  while (slots_[i] != kEmpty) i = Next(i);
  slots_[i] = slot;
  ++live;
}

// ---------------------------------------------------------------- store

KeyStore::KeyStore(const HashPartitioner& partitioner)
    : partitioner_(partitioner), parts_(partitioner.partitions()) {}

size_t KeyStore::MemoryBytes() const {
  size_t n = arena_.MemoryBytes() + table_.capacity() * sizeof(uint64_t);
  n += rev_pages_ * kPageSize * sizeof(uint64_t);
  n += rev_.capacity() * sizeof(rev_[0]);
  for (const auto& pages : rev_) n += pages.capacity() * sizeof(pages[0]);
  n += parts_.capacity() * sizeof(Partition);
  for (const Partition& p : parts_) {
    n += (p.free.capacity() + p.owned.capacity()) * sizeof(uint64_t);
  }
  n += (shard_part_.capacity() + shard_rank_.capacity()) * sizeof(uint32_t);
  return n;
}

uint64_t KeyStore::RevGet(uint64_t id) const {
  const uint64_t shard = id >> kShardWidthExponent;
  if (shard >= rev_.size()) return 0;
  const auto& pages = rev_[shard];
  const uint64_t page = (id & (kShardWidth - 1)) >> kPageBits;
  if (page >= pages.size() || pages[page] == nullptr) return 0;
  return pages[page][id & (kPageSize - 1)];
}

void KeyStore::PrefetchRev(uint64_t id) const {
  const uint64_t shard = id >> kShardWidthExponent;
  if (shard >= rev_.size()) return;
  const auto& pages = rev_[shard];
  const uint64_t page = (id & (kShardWidth - 1)) >> kPageBits;
  if (page < pages.size() && pages[page] != nullptr) {
    __builtin_prefetch(&pages[page][id & (kPageSize - 1)], 1);
  }
}

void KeyStore::RevSet(uint64_t id, uint64_t value) {
  const uint64_t shard = id >> kShardWidthExponent;
  if (shard >= rev_.size()) rev_.resize(shard + 1);
  auto& pages = rev_[shard];
  const uint64_t page = (id & (kShardWidth - 1)) >> kPageBits;
  if (page >= pages.size()) pages.resize(page + 1);
  if (pages[page] == nullptr) {
    pages[page].reset(new uint64_t[kPageSize]());
    ++rev_pages_;
  }
  pages[page][id & (kPageSize - 1)] = value;
}

void KeyStore::ScanShard() {
  const uint64_t s = shard_part_.size();
  const uint32_t p = partitioner_.ShardPartition(s);
  shard_part_.push_back(p);
  shard_rank_.push_back(uint32_t(parts_[p].owned.size()));
  parts_[p].owned.push_back(s);
}

uint64_t KeyStore::OwnedShard(uint32_t p, uint64_t rank) {
  std::vector<uint64_t>& owned = parts_[p].owned;
  while (owned.size() <= rank) {
    // Every partition owns about one shard in N, so this terminates long
    // before kShardLimit; the guard only bounds pathological counts.
    if (shard_part_.size() >= kShardLimit) return kShardLimit;
    ScanShard();
  }
  return owned[rank];
}

uint64_t KeyStore::Allocate(uint32_t p) {
  Partition& part = parts_[p];
  if (!part.free.empty()) {
    std::pop_heap(part.free.begin(), part.free.end(), std::greater<>());
    const uint64_t id = part.free.back();
    part.free.pop_back();
    return id;
  }
  uint64_t local = part.hwm;
  // Column 0 would be id 0, which means "no id".
  if (local == 0 && OwnedShard(p, 0) == 0) local = 1;
  const uint64_t rank = local >> kShardWidthExponent;
  if (rank >= uint64_t{1} << 32) return 0;  // shard_rank_ is 32-bit
  const uint64_t shard = OwnedShard(p, rank);
  if (shard >= kShardLimit) return 0;
  part.hwm = local + 1;
  return ShardStart(shard) | (local & (kShardWidth - 1));
}

bool KeyStore::Matches(uint64_t slot, std::string_view key,
                       uint64_t* id) const {
  const char* p = arena_.At(KeyTable::OffsetOf(slot));
  uint64_t len_flag;
  p = GetVarint(p, &len_flag);
  if ((len_flag >> 1) != key.size() ||
      std::memcmp(p, key.data(), key.size()) != 0) {
    return false;
  }
  GetVarint(p + key.size(), id);
  return true;
}

uint64_t KeyStore::Probe(std::string_view key, uint64_t h, uint64_t start,
                         uint64_t* insert_at) const {
  const uint64_t* slots = table_.slots();
  const uint64_t tag = KeyTable::Tag(h);
  uint64_t reusable = ~uint64_t{0};
  for (uint64_t i = start;; i = table_.Next(i)) {
    const uint64_t s = slots[i];
    if (s == KeyTable::kEmpty) {
      if (insert_at) *insert_at = reusable != ~uint64_t{0} ? reusable : i;
      return 0;
    }
    if (s == KeyTable::kTombstone) {
      if (reusable == ~uint64_t{0}) reusable = i;
      continue;
    }
    uint64_t id;
    if ((s & 0xFFFFFF) == tag && Matches(s, key, &id)) return id;
  }
}

uint64_t KeyStore::Find(std::string_view key, uint64_t h) const {
  if (table_.capacity() == 0) return 0;
  return Probe(key, h, table_.Home(h), nullptr);
}

void KeyStore::FindMany(const std::string_view* keys, size_t n,
                        uint64_t* ids) const {
  if (table_.capacity() == 0) {
    std::fill(ids, ids + n, 0);
    return;
  }
  // Three passes per block so the cache misses of a block overlap: hash and
  // prefetch the home slots; find each key's first tag match and prefetch
  // its arena record; then compare (continuing the probe on a mismatch).
  constexpr size_t kBlock = 16;
  const uint64_t* slots = table_.slots();
  uint64_t hash[kBlock], pos[kBlock];
  for (size_t base = 0; base < n; base += kBlock) {
    const size_t m = std::min(kBlock, n - base);
    for (size_t i = 0; i < m; ++i) {
      const std::string_view k = keys[base + i];
      hash[i] = KeyHash(k);
      pos[i] = table_.Home(hash[i]);
      __builtin_prefetch(&slots[pos[i]]);
    }
    for (size_t i = 0; i < m; ++i) {
      const uint64_t tag = KeyTable::Tag(hash[i]);
      uint64_t j = pos[i];
      while (true) {
        const uint64_t s = slots[j];
        if (s == KeyTable::kEmpty) break;
        if (s != KeyTable::kTombstone && (s & 0xFFFFFF) == tag) {
          __builtin_prefetch(arena_.At(KeyTable::OffsetOf(s)));
          break;
        }
        j = table_.Next(j);
      }
      pos[i] = j;
    }
    for (size_t i = 0; i < m; ++i) {
      const std::string_view k = keys[base + i];
      ids[base + i] = k.empty() ? 0 : Probe(k, hash[i], pos[i], nullptr);
    }
  }
}

bool KeyStore::KeyOf(uint64_t id, std::string_view* key) const {
  const uint64_t v = RevGet(id);
  if (v == 0) return false;
  *key = ParseRecord(arena_.At(v - 1)).key;
  return true;
}

bool KeyStore::NeedsGrowth(size_t extra) const {
  // Maximum load 0.8 counting tombstones.
  return (table_.live + table_.tombstones + extra) * 5 > table_.capacity() * 4;
}

KeyTable KeyStore::GrownTable(size_t extra) const {
  // Growth by 1.5x keeps the load between 0.53 and 0.8 (memory budget); a
  // rebuild that only clears tombstones keeps the capacity.
  const uint64_t need = table_.live + extra;
  uint64_t cap = std::max<uint64_t>(16, need * 5 / 4 + 1);
  if (need * 5 > table_.capacity() * 4) cap = std::max(cap, need * 15 / 8);
  cap = std::max(cap, table_.capacity());
  KeyTable t(cap);
  // Walking the arena is sequential; the table writes are the random part,
  // so they go in blocks whose home slots are prefetched first.
  constexpr size_t kBlock = 32;
  uint64_t hash[kBlock], slot[kBlock];
  size_t m = 0;
  auto flush = [&] {
    for (size_t i = 0; i < m; ++i) t.InsertNew(hash[i], slot[i]);
    m = 0;
  };
  arena_.ForEach([&](uint64_t offset, const KeyRecord& r) {
    if (r.dead) return;
    const uint64_t h = KeyHash(r.key);
    __builtin_prefetch(&t.slots()[t.Home(h)], 1);
    hash[m] = h;
    slot[m] = KeyTable::Slot(offset, h);
    if (++m == kBlock) flush();
  });
  flush();
  return t;
}

uint64_t KeyStore::FindOrCreate(std::string_view key, uint64_t h,
                                bool* created) {
  uint64_t insert_at = 0;
  *created = false;
  const uint64_t found = Probe(key, h, table_.Home(h), &insert_at);
  if (found != 0) return found;
  // Offsets have 40 bits: stop before the arena outgrows them (1 TiB).
  if (arena_.Full()) return 0;
  const uint32_t p = partitioner_.PartitionOfHash(h);
  const uint64_t id = Allocate(p);
  if (id == 0) return 0;
  const uint64_t offset = arena_.Append(key, id);
  uint64_t* slots = table_.slots();
  if (slots[insert_at] == KeyTable::kTombstone) --table_.tombstones;
  slots[insert_at] = KeyTable::Slot(offset, h);
  ++table_.live;
  RevSet(id, offset + 1);
  ++parts_[p].live;
  key_bytes_ += key.size();
  *created = true;
  return id;
}

bool KeyStore::Delete(uint64_t id) {
  const uint64_t v = RevGet(id);
  if (v == 0) return false;
  const uint64_t offset = v - 1;
  const KeyRecord r = ParseRecord(arena_.At(offset));
  const uint64_t h = KeyHash(r.key);
  uint64_t* slots = table_.slots();
  for (uint64_t i = table_.Home(h);; i = table_.Next(i)) {
    const uint64_t s = slots[i];
    if (s == KeyTable::kEmpty) break;  // unreachable: the key is in the table
    if (s != KeyTable::kTombstone && KeyTable::OffsetOf(s) == offset) {
      slots[i] = KeyTable::kTombstone;
      --table_.live;
      ++table_.tombstones;
      break;
    }
  }
  // Mark the record dead in place: the length varint keeps its size.
  arena_.MutableAt(offset)[0] |= 1;
  RevSet(id, 0);
  key_bytes_ -= r.key.size();
  const uint32_t p = shard_part_[id >> kShardWidthExponent];
  Partition& part = parts_[p];
  --part.live;
  part.free.push_back(id);
  std::push_heap(part.free.begin(), part.free.end(), std::greater<>());
  return true;
}

// ---------------------------------------------------------------- snapshot

void KeyStore::EncodeBody(uint64_t sequence, std::string* out) const {
  PutFixed<uint32_t>(out, partitioner_.partitions());
  PutFixed<uint32_t>(out, 0);
  PutFixed<uint64_t>(out, sequence);
  PutFixed<uint64_t>(out, table_.live);
  PutFixed<uint64_t>(out, key_bytes_);
  std::vector<uint64_t> free;
  for (const Partition& part : parts_) {
    PutFixed<uint64_t>(out, part.hwm);
    PutFixed<uint64_t>(out, part.free.size());
    free.assign(part.free.begin(), part.free.end());
    std::sort(free.begin(), free.end());
    for (uint64_t id : free) PutFixed<uint64_t>(out, id);
  }
  out->reserve(out->size() + table_.live * 12 + key_bytes_);
  arena_.ForEach([&](uint64_t, const KeyRecord& r) {
    if (r.dead) return;
    PutFixed<uint64_t>(out, r.id);
    PutFixed<uint32_t>(out, uint32_t(r.key.size()));
    out->append(r.key);
  });
}

StatusOr<std::unique_ptr<KeyStore>> KeyStore::DecodeBody(std::string_view body,
                                                         size_t base,
                                                         uint64_t* sequence) {
  Reader in(body, base);
  uint32_t partitions, reserved;
  uint64_t count, key_bytes;
  if (!in.Read(&partitions) || !in.Read(&reserved) || !in.Read(sequence) ||
      !in.Read(&count) || !in.Read(&key_bytes)) {
    return in.Truncated(32);
  }
  if (partitions == 0 || partitions > HashPartitioner::kMaxPartitions) {
    return Corrupt(base, fmt::format("bad partition count {}", partitions));
  }
  if (reserved != 0) {
    return Corrupt(base + 4, fmt::format("bad reserved word {}", reserved));
  }
  // Each entry takes at least 13 bytes: bound the counts by the bytes
  // before trusting them for any allocation or loop.
  if (count > in.remaining() / 13 || key_bytes > in.remaining()) {
    return Corrupt(base + 16, fmt::format("key count {} with {} key bytes "
                                          "exceeds the snapshot size",
                                          count, key_bytes));
  }
  auto store =
      std::make_unique<KeyStore>(HashPartitioner::Create(partitions).value());
  std::vector<std::string_view> free_ids(partitions);
  std::vector<size_t> free_offsets(partitions);
  uint64_t hwm_total = 0, free_total = 0;
  for (uint32_t p = 0; p < partitions; ++p) {
    uint64_t hwm, nfree;
    const size_t at = in.offset();
    if (!in.Read(&hwm) || !in.Read(&nfree)) return in.Truncated(16);
    if (nfree > in.remaining() / 8) {
      return Corrupt(at + 8,
                     fmt::format("free id count {} of partition {} exceeds "
                                 "the snapshot size",
                                 nfree, p));
    }
    // A per-partition bound first, so that the sum below cannot overflow.
    if (hwm > body.size() + partitions) {
      return Corrupt(at, fmt::format("high-water mark {} of partition {} "
                                     "exceeds the snapshot size",
                                     hwm, p));
    }
    free_offsets[p] = in.offset();
    in.ReadBytes(nfree * 8, &free_ids[p]);
    store->parts_[p].hwm = hwm;
    hwm_total += hwm;
    free_total += nfree;
  }
  // Every local column below a partition's high-water mark is live, free or
  // the skipped column 0: a bound on the shards to scan, checked exactly
  // below.
  if (hwm_total > count + free_total + partitions) {
    return Corrupt(base + 32,
                   fmt::format("high-water marks total {} exceed {} keys + "
                               "{} free ids",
                               hwm_total, count, free_total));
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    const uint64_t hwm = store->parts_[p].hwm;
    if (hwm > 0) store->OwnedShard(p, (hwm - 1) >> kShardWidthExponent);
  }
  // Local index of `id` within partition p, or ~0 if id is not p's.
  auto local_of = [&](uint64_t id, uint32_t p) -> uint64_t {
    const uint64_t shard = id >> kShardWidthExponent;
    if (id == 0 || shard >= store->shard_part_.size() ||
        store->shard_part_[shard] != p) {
      return ~uint64_t{0};
    }
    return (uint64_t(store->shard_rank_[shard]) << kShardWidthExponent) |
           (id & (kShardWidth - 1));
  };
  // Free ids are marked in the id map while decoding (kFreeMark) so that a
  // live entry with a free id is caught; the marks are cleared at the end.
  constexpr uint64_t kFreeMark = ~uint64_t{0};
  for (uint32_t p = 0; p < partitions; ++p) {
    Partition& part = store->parts_[p];
    const std::string_view ids = free_ids[p];
    part.free.reserve(ids.size() / 8);
    uint64_t prev = 0;
    for (size_t i = 0; i < ids.size(); i += 8) {
      const uint64_t id = LoadFixed<uint64_t>(ids.data() + i);
      const size_t at = free_offsets[p] + i;
      if (id <= prev && i > 0) {
        return Corrupt(at, fmt::format("free ids of partition {} not "
                                       "increasing ({} after {})",
                                       p, id, prev));
      }
      if (local_of(id, p) >= part.hwm) {
        return Corrupt(at, fmt::format("free id {} not allocated by "
                                       "partition {}",
                                       id, p));
      }
      prev = id;
      part.free.push_back(id);  // ascending order is a valid min-heap
      store->RevSet(id, kFreeMark);
    }
  }
  // Entries, in blocks: parse and hash a block, prefetching each home slot,
  // then check and insert it, so that the table misses overlap. Load 2/3
  // leaves room to grow before the first rebuild and keeps the probes of the
  // duplicate check short.
  const uint64_t table_cap = std::max<uint64_t>(16, count * 3 / 2 + 1);
  store->table_ = KeyTable(table_cap);
  store->arena_.Reserve(key_bytes + count * 8);
  // Software-pipelined: block k + 1 is parsed, hashed and its table slots
  // and id-map entries prefetched before block k is checked and inserted.
  constexpr size_t kBlock = 32;
  struct Parsed {
    size_t at;
    uint64_t id;
    uint64_t h;
    std::string_view key;
  } blocks[2][kBlock];
  auto parse = [&](Parsed* block, size_t m) -> absl::Status {
    for (size_t j = 0; j < m; ++j) {
      Parsed& e = block[j];
      e.at = in.offset();
      uint32_t len;
      if (!in.Read(&e.id) || !in.Read(&len)) return in.Truncated(12);
      if (len == 0 || len > kMaxKeyBytes) {
        return Corrupt(e.at + 8, fmt::format("key length {} outside [1, {}]",
                                             len, kMaxKeyBytes));
      }
      if (!in.ReadBytes(len, &e.key)) return in.Truncated(len);
      e.h = KeyHash(e.key);
      __builtin_prefetch(&store->table_.slots()[store->table_.Home(e.h)]);
      store->PrefetchRev(e.id);
    }
    return absl::OkStatus();
  };
  auto block_size = [&](uint64_t i) {
    return size_t(std::min<uint64_t>(kBlock, count - i));
  };
  if (count > 0) {
    absl::Status s = parse(blocks[0], block_size(0));
    if (!s.ok()) return s;
  }
  for (uint64_t i = 0, k = 0; i < count; ++k) {
    const size_t m = block_size(i);
    if (i + m < count) {
      absl::Status s = parse(blocks[(k + 1) & 1], block_size(i + m));
      if (!s.ok()) return s;
    }
    for (size_t j = 0; j < m; ++j) {
      const Parsed& e = blocks[k & 1][j];
      const uint32_t p = store->partitioner_.PartitionOfHash(e.h);
      if (local_of(e.id, p) >= store->parts_[p].hwm) {
        return Corrupt(e.at, fmt::format("id {} not allocated by partition {} "
                                         "of its key",
                                         e.id, p));
      }
      const uint64_t prior = store->RevGet(e.id);
      if (prior != 0) {
        return Corrupt(e.at, fmt::format("id {} {}", e.id,
                                         prior == kFreeMark ? "is also free"
                                                            : "appears twice"));
      }
      uint64_t insert_at;
      if (store->Probe(e.key, e.h, store->table_.Home(e.h), &insert_at) != 0) {
        return Corrupt(e.at + 12, "key appears twice");
      }
      const uint64_t offset = store->arena_.Append(e.key, e.id);
      store->table_.slots()[insert_at] = KeyTable::Slot(offset, e.h);
      ++store->table_.live;
      store->RevSet(e.id, offset + 1);
      ++store->parts_[p].live;
      store->key_bytes_ += e.key.size();
    }
    i += m;
  }
  if (in.remaining() != 0) {
    return Corrupt(in.offset(), fmt::format("{} bytes after the last entry",
                                            in.remaining()));
  }
  if (store->key_bytes_ != key_bytes) {
    return Corrupt(base + 24, fmt::format("key bytes {} but entries hold {}",
                                          key_bytes, store->key_bytes_));
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    Partition& part = store->parts_[p];
    const uint64_t skipped =
        part.hwm > 0 && !part.owned.empty() && part.owned[0] == 0 ? 1 : 0;
    if (part.live + part.free.size() + skipped != part.hwm) {
      return Corrupt(base + 32,
                     fmt::format("partition {}: {} keys + {} free ids do not "
                                 "fill its {} allocated columns",
                                 p, part.live, part.free.size(), part.hwm));
    }
    for (uint64_t id : part.free) store->RevSet(id, 0);
  }
  return store;
}

}  // namespace featurebase::internal
