#include "featurebase/key_cache.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace featurebase {

// Keys live in an arena of large chunks rather than one heap string each: a
// batch of new keys costs no allocation per key (ingest inserts millions),
// and dropping the cache frees a few chunks. Erased and expired keys leave
// garbage in the arena; once it outweighs the live keys, the sweep copies
// the live keys into a fresh arena.
struct KeyCache::Impl {
  struct Entry {
    uint64_t id;
    uint64_t last_used;
  };
  absl::flat_hash_map<absl::string_view, Entry> map;
  std::vector<std::unique_ptr<char[]>> chunks;
  size_t chunk_used = 0, chunk_size = 0;
  size_t live_bytes = 0, garbage_bytes = 0;

  static constexpr size_t kChunkBytes = size_t{1} << 20;

  absl::string_view Store(absl::string_view key) {
    if (key.empty()) return {};
    if (chunks.empty() || chunk_size - chunk_used < key.size()) {
      chunk_size = std::max(kChunkBytes, key.size());
      chunks.push_back(std::unique_ptr<char[]>(new char[chunk_size]));
      chunk_used = 0;
    }
    char* at = chunks.back().get() + chunk_used;
    std::memcpy(at, key.data(), key.size());
    chunk_used += key.size();
    live_bytes += key.size();
    return {at, key.size()};
  }

  void Dropped(absl::string_view key) {
    live_bytes -= key.size();
    garbage_bytes += key.size();
  }

  void Reset() {
    map.clear();
    chunks.clear();
    chunk_used = chunk_size = 0;
    live_bytes = garbage_bytes = 0;
  }

  // Copies the live keys into a fresh arena when garbage dominates.
  void MaybeCompact() {
    if (garbage_bytes <= live_bytes || garbage_bytes < kChunkBytes) return;
    std::vector<std::pair<absl::string_view, Entry>> live(map.begin(),
                                                          map.end());
    std::vector<std::unique_ptr<char[]>> old = std::move(chunks);
    Reset();
    map.reserve(live.size());
    for (const auto& [key, entry] : live) map.emplace(Store(key), entry);
  }
};

namespace {
// Debian's abseil has its own string_view type.
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

KeyCache::KeyCache(uint64_t cache_length)
    : impl_(std::make_unique<Impl>()), cache_length_(cache_length) {}
KeyCache::~KeyCache() = default;
KeyCache::KeyCache(KeyCache&&) noexcept = default;
KeyCache& KeyCache::operator=(KeyCache&&) noexcept = default;

std::optional<uint64_t> KeyCache::Lookup(std::string_view key) {
  auto it = impl_->map.find(Absl(key));
  if (it == impl_->map.end()) {
    ++misses_;
    return std::nullopt;
  }
  // last_used <= cycle_: the subtraction cannot underflow.
  if (cycle_ - it->second.last_used > cache_length_) {
    impl_->Dropped(it->first);
    impl_->map.erase(it);
    ++misses_;
    return std::nullopt;
  }
  it->second.last_used = cycle_;
  ++hits_;
  return it->second.id;
}

void KeyCache::Insert(std::string_view key, uint64_t id) {
  const Impl::Entry entry{id, cycle_};
  bool fresh = false;
  // One hash and probe: the key is copied into the arena only when new.
  auto it = impl_->map.lazy_emplace(Absl(key), [&](const auto& construct) {
    fresh = true;
    construct(impl_->Store(Absl(key)), entry);
  });
  if (!fresh) it->second = entry;
}

bool KeyCache::Erase(std::string_view key) {
  auto it = impl_->map.find(Absl(key));
  if (it == impl_->map.end()) return false;
  impl_->Dropped(it->first);
  impl_->map.erase(it);
  return true;
}

void KeyCache::Clear() { impl_->Reset(); }

void KeyCache::EndBatch() {
  ++cycle_;
  const uint64_t sweep_every = cache_length_ / 2 > 0 ? cache_length_ / 2 : 1;
  if (cycle_ % sweep_every != 0) return;
  const uint64_t cycle = cycle_, max_age = cache_length_;
  Impl& impl = *impl_;
  absl::erase_if(impl.map, [&impl, cycle, max_age](const auto& kv) {
    if (cycle - kv.second.last_used <= max_age) return false;
    impl.Dropped(kv.first);
    return true;
  });
  impl.MaybeCompact();
}

size_t KeyCache::size() const { return impl_->map.size(); }

}  // namespace featurebase
