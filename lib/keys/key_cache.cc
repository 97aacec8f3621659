#include "featurebase/key_cache.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace featurebase {

struct KeyCache::Impl {
  struct Entry {
    uint64_t id;
    uint64_t last_used;
  };
  absl::flat_hash_map<std::string, Entry> map;
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
    impl_->map.erase(it);
    ++misses_;
    return std::nullopt;
  }
  it->second.last_used = cycle_;
  ++hits_;
  return it->second.id;
}

void KeyCache::Insert(std::string_view key, uint64_t id) {
  impl_->map.insert_or_assign(std::string(key), Impl::Entry{id, cycle_});
}

bool KeyCache::Erase(std::string_view key) {
  return impl_->map.erase(Absl(key)) > 0;
}

void KeyCache::Clear() { impl_->map.clear(); }

void KeyCache::EndBatch() {
  ++cycle_;
  const uint64_t sweep_every = cache_length_ / 2 > 0 ? cache_length_ / 2 : 1;
  if (cycle_ % sweep_every != 0) return;
  const uint64_t cycle = cycle_, max_age = cache_length_;
  absl::erase_if(impl_->map, [cycle, max_age](const auto& kv) {
    return cycle - kv.second.last_used > max_age;
  });
}

size_t KeyCache::size() const { return impl_->map.size(); }

}  // namespace featurebase
