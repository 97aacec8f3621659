// PersistentMap<V>: an immutable-by-version ordered map from uint64_t to V,
// the building block of featurebase_core's copy-on-write snapshots (fields,
// views, shards and rows are all PersistentMaps).
//
// It is a radix trie with 64-way nodes (6 bits of the key per level) whose
// nodes store only present children (a 64-bit presence mask + a packed
// vector, popcount-indexed). Copying a map copies one pointer. A writer edits
// a copy under an *owner* token (a transaction id): a node stamped with the
// writer's token is edited in place, any other node is copied first and
// stamped, so the first write to a path costs O(depth · fanout present) and
// later writes in the same transaction cost O(depth). Nodes reachable from a
// published version are never stamped with a live token again, so readers of
// a published version never see a change. Depth grows with the largest key:
// ceil(bits(max key) / 6) levels (row ids below 2^18 need 3).
//
// Hand-written because no Debian-packaged library offers a persistent
// (structurally shared) ordered map; abseil's btree_map copies in O(n).
//
// Thread-safety: a version (a PersistentMap value) is immutable to readers;
// any number of threads may read the same version. Mutation requires that
// the caller owns `owner` exclusively (one writer).
#ifndef FEATUREBASE_LIB_CORE_PERSISTENT_MAP_H_
#define FEATUREBASE_LIB_CORE_PERSISTENT_MAP_H_

#include <bit>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace featurebase::internal {

// Tokens identify transactions; 0 is never a live token.
using OwnerToken = uint64_t;

template <typename V>
class PersistentMap {
 public:
  PersistentMap() = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value for `key`, or null.
  const V* Find(uint64_t key) const {
    if (!root_ || levels_ < LevelsFor(key)) return nullptr;
    const Node* n = root_.get();
    for (int level = levels_ - 1; level > 0; --level) {
      const int idx = Digit(key, level);
      if (!(n->present >> idx & 1)) return nullptr;
      n = n->kids[Slot(n->present, idx)].get();
    }
    const int idx = Digit(key, 0);
    if (!(n->present >> idx & 1)) return nullptr;
    return &n->vals[Slot(n->present, idx)];
  }

  // A mutable slot for `key` under `owner`, default-constructing V when the
  // key is absent (`*inserted` tells which). Copies shared nodes on the way.
  V* Mutate(OwnerToken owner, uint64_t key, bool* inserted = nullptr) {
    const int need = LevelsFor(key);
    if (!root_) {
      root_ = std::make_shared<Node>(owner);
      levels_ = need;
    }
    while (levels_ < need) {  // grow upwards: the old root becomes child 0
      auto top = std::make_shared<Node>(owner);
      top->present = 1;
      top->kids.push_back(std::move(root_));
      root_ = std::move(top);
      ++levels_;
    }
    Node* n = Own(owner, &root_);
    for (int level = levels_ - 1; level > 0; --level) {
      const int idx = Digit(key, level);
      const int slot = Slot(n->present, idx);
      if (!(n->present >> idx & 1)) {
        n->present |= uint64_t{1} << idx;
        n->kids.insert(n->kids.begin() + slot, std::make_shared<Node>(owner));
      }
      n = Own(owner, &n->kids[slot]);
    }
    const int idx = Digit(key, 0);
    const int slot = Slot(n->present, idx);
    const bool fresh = !(n->present >> idx & 1);
    if (fresh) {
      n->present |= uint64_t{1} << idx;
      n->vals.insert(n->vals.begin() + slot, V());
      ++size_;
    }
    if (inserted != nullptr) *inserted = fresh;
    return &n->vals[slot];
  }

  // Sets key to value under `owner`.
  void Put(OwnerToken owner, uint64_t key, V value) {
    *Mutate(owner, key) = std::move(value);
  }

  // Removes `key` under `owner`; returns whether it was present. Empty nodes
  // are pruned.
  bool Erase(OwnerToken owner, uint64_t key) {
    if (Find(key) == nullptr) return false;
    EraseRec(owner, &root_, levels_ - 1, key);
    --size_;
    if (size_ == 0) {
      root_.reset();
      levels_ = 0;
    }
    return true;
  }

  // Updates the values of `keys` (ascending, unique) under `owner`:
  // f(i, V& value, bool present) edits the value of keys[i] (default-
  // constructed when absent) and returns whether the key is present
  // afterwards. Each node on the keys' paths is visited once and each
  // touched leaf rebuilt in one merge pass, instead of a walk, an insert or
  // an erase (shifting the leaf) per key. O(keys + touched nodes · 64).
  template <typename F>
  void UpdateSorted(OwnerToken owner, std::span<const uint64_t> keys, F&& f) {
    if (keys.empty()) return;
    const int need = LevelsFor(keys.back());
    if (!root_) {
      root_ = std::make_shared<Node>(owner);
      levels_ = need;
    }
    while (levels_ < need) {
      auto top = std::make_shared<Node>(owner);
      top->present = 1;
      top->kids.push_back(std::move(root_));
      root_ = std::move(top);
      ++levels_;
    }
    UpdateRec(owner, &root_, levels_ - 1, keys, 0, f, &size_);
    if (size_ == 0) {
      root_.reset();
      levels_ = 0;
    }
  }

  // Calls f(key, const V&) in ascending key order for keys >= from, until f
  // returns false. Returns false if stopped early.
  template <typename F>
  bool ForEachFrom(uint64_t from, F&& f) const {
    if (!root_) return true;
    if (levels_ < LevelsFor(from)) return true;
    return Walk(root_.get(), levels_ - 1, 0, from, true, f);
  }
  template <typename F>
  bool ForEach(F&& f) const {
    return ForEachFrom(0, f);
  }

  // True when both maps are the same version (share their root).
  bool SameAs(const PersistentMap& other) const { return root_ == other.root_; }

  // Calls f(key, const V* before, const V* after) for every key held by
  // `before` or `after` (null where absent) whose leaf node the two do not
  // share, in ascending key order. Shared subtrees are skipped, so the cost
  // is what differs between two versions; values in an unshared leaf may
  // still be equal, callers compare them.
  template <typename F>
  static void Diff(const PersistentMap& before, const PersistentMap& after,
                   F&& f) {
    DiffNodes(before.root_.get(), before.levels_ - 1, after.root_.get(),
              after.levels_ - 1, 0, f);
  }

  // Smallest / largest key; the map must not be empty.
  uint64_t MinKey() const {
    const Node* n = root_.get();
    uint64_t key = 0;
    for (int level = levels_ - 1; level >= 0; --level) {
      const int idx = std::countr_zero(n->present);
      key |= uint64_t(idx) << (6 * level);
      if (level > 0) n = n->kids.front().get();
    }
    return key;
  }
  uint64_t MaxKey() const {
    const Node* n = root_.get();
    uint64_t key = 0;
    for (int level = levels_ - 1; level >= 0; --level) {
      const int idx = 63 - std::countl_zero(n->present);
      key |= uint64_t(idx) << (6 * level);
      if (level > 0) n = n->kids.back().get();
    }
    return key;
  }

 private:
  struct Node {
    explicit Node(OwnerToken o) : owner(o) {}
    OwnerToken owner;
    uint64_t present = 0;
    std::vector<std::shared_ptr<Node>> kids;  // internal levels
    std::vector<V> vals;                      // level 0
  };

  static int Digit(uint64_t key, int level) {
    return int((key >> (6 * level)) & 63);
  }
  static int Slot(uint64_t present, int idx) {
    return std::popcount(present & ((uint64_t{1} << idx) - 1));
  }
  static int LevelsFor(uint64_t key) {
    const int bits = 64 - std::countl_zero(key | 1);
    return (bits + 5) / 6;
  }
  // Makes *p a node owned by `owner`, copying it if needed.
  static Node* Own(OwnerToken owner, std::shared_ptr<Node>* p) {
    if ((*p)->owner != owner) {
      auto copy = std::make_shared<Node>(**p);
      copy->owner = owner;
      *p = std::move(copy);
    }
    return p->get();
  }

  template <typename F>
  static void UpdateRec(OwnerToken owner, std::shared_ptr<Node>* p, int level,
                        std::span<const uint64_t> keys, size_t base, F& f,
                        size_t* size) {
    if (level == 0) {
      // Merge the leaf's values with the updates into a new value array;
      // values are moved out of a leaf this writer owns, else copied.
      Node* old = p->get();
      const bool owned = old->owner == owner;
      uint64_t touched = 0;
      for (uint64_t key : keys) touched |= uint64_t{1} << Digit(key, 0);
      std::vector<V> vals;
      vals.reserve(std::popcount(old->present | touched));
      uint64_t present = 0;
      size_t k = 0;
      for (uint64_t mask = old->present | touched; mask != 0;
           mask &= mask - 1) {
        const int idx = std::countr_zero(mask);
        const uint64_t bit = uint64_t{1} << idx;
        const bool was = old->present & bit;
        V* from = was ? &old->vals[Slot(old->present, idx)] : nullptr;
        if (!(touched & bit)) {
          vals.push_back(owned ? std::move(*from) : *from);
          present |= bit;
          continue;
        }
        V v = !was ? V() : owned ? std::move(*from) : *from;
        if (f(base + k, v, was)) {
          vals.push_back(std::move(v));
          present |= bit;
          *size += !was;
        } else {
          *size -= was;
        }
        ++k;
      }
      if (!owned) {
        *p = std::make_shared<Node>(owner);
        old = p->get();
      }
      old->present = present;
      old->vals = std::move(vals);
      return;
    }
    Node* n = Own(owner, p);
    // The keys' children, created where absent; then visited in order,
    // each leaf's values fetched ahead of the visit (a leaf is a separate
    // allocation, so the hardware prefetcher cannot see it coming).
    struct Group {
      size_t begin, end;
      int idx;
    };
    Group groups[64];
    int n_groups = 0;
    for (size_t k = 0; k < keys.size();) {
      const int idx = Digit(keys[k], level);
      size_t e = k + 1;
      while (e < keys.size() && Digit(keys[e], level) == idx) ++e;
      groups[n_groups++] = {k, e, idx};
      if (!(n->present >> idx & 1)) {
        const int slot = Slot(n->present, idx);
        n->present |= uint64_t{1} << idx;
        n->kids.insert(n->kids.begin() + slot, std::make_shared<Node>(owner));
      }
      k = e;
    }
    const auto kid = [&](int g) {
      return &n->kids[Slot(n->present, groups[g].idx)];
    };
    if (level == 1) {
      for (int g = 0; g < n_groups && g < 6; ++g)
        __builtin_prefetch(kid(g)->get());
    }
    for (int g = 0; g < n_groups; ++g) {
      if (level == 1) {
        constexpr int kAhead = 3;  // leaves; their nodes twice as far
        if (g + 2 * kAhead < n_groups)
          __builtin_prefetch(kid(g + 2 * kAhead)->get());
        if (g + kAhead < n_groups) {
          const Node* next = kid(g + kAhead)->get();
          const char* data = reinterpret_cast<const char*>(next->vals.data());
          const size_t bytes = next->vals.size() * sizeof(V);
          for (size_t at = 0; at < bytes; at += 64)
            __builtin_prefetch(data + at);
        }
      }
      const Group& gr = groups[g];
      UpdateRec(owner, kid(g), level - 1,
                keys.subspan(gr.begin, gr.end - gr.begin), base + gr.begin, f,
                size);
    }
    for (int g = n_groups - 1; g >= 0; --g) {  // drop emptied children
      const int slot = Slot(n->present, groups[g].idx);
      if (n->kids[slot]->present == 0) {
        n->kids.erase(n->kids.begin() + slot);
        n->present &= ~(uint64_t{1} << groups[g].idx);
      }
    }
  }

  static void EraseRec(OwnerToken owner, std::shared_ptr<Node>* p, int level,
                       uint64_t key) {
    Node* n = Own(owner, p);
    const int idx = Digit(key, level);
    const int slot = Slot(n->present, idx);
    if (level == 0) {
      n->vals.erase(n->vals.begin() + slot);
      n->present &= ~(uint64_t{1} << idx);
      return;
    }
    EraseRec(owner, &n->kids[slot], level - 1, key);
    if (n->kids[slot]->present == 0) {
      n->kids.erase(n->kids.begin() + slot);
      n->present &= ~(uint64_t{1} << idx);
    }
  }

  template <typename F>
  static bool Walk(const Node* n, int level, uint64_t prefix, uint64_t from,
                   bool bounded, F& f) {
    const int first = bounded ? Digit(from, level) : 0;
    uint64_t mask = n->present & (~uint64_t{0} << first);
    while (mask != 0) {
      const int idx = std::countr_zero(mask);
      mask &= mask - 1;
      const int slot = Slot(n->present, idx);
      const uint64_t key = prefix | (uint64_t(idx) << (6 * level));
      const bool still_bounded = bounded && idx == first;
      if (level == 0) {
        if (!f(key, n->vals[slot])) return false;
      } else if (!Walk(n->kids[slot].get(), level - 1, key, from, still_bounded,
                       f)) {
        return false;
      }
    }
    return true;
  }

  // Reports every value under `n` (at `level`) as before (`as_before`) or
  // after.
  template <typename F>
  static void DiffOneSide(const Node* n, int level, uint64_t prefix,
                          bool as_before, F& f) {
    uint64_t mask = n->present;
    while (mask != 0) {
      const int idx = std::countr_zero(mask);
      mask &= mask - 1;
      const int slot = Slot(n->present, idx);
      const uint64_t key = prefix | (uint64_t(idx) << (6 * level));
      if (level == 0) {
        const V* v = &n->vals[slot];
        as_before ? f(key, v, static_cast<const V*>(nullptr))
                  : f(key, static_cast<const V*>(nullptr), v);
      } else {
        DiffOneSide(n->kids[slot].get(), level - 1, key, as_before, f);
      }
    }
  }

  // A shallower trie is the child 0 chain of a deeper one with the same
  // keys, so nodes at different levels pair up through index 0.
  template <typename F>
  static void DiffNodes(const Node* a, int la, const Node* b, int lb,
                        uint64_t prefix, F& f) {
    if (a == nullptr && b == nullptr) return;
    if (a == nullptr) return DiffOneSide(b, lb, prefix, false, f);
    if (b == nullptr) return DiffOneSide(a, la, prefix, true, f);
    if (la == lb && a == b) return;
    const int level = la > lb ? la : lb;
    const uint64_t pa = la == level ? a->present : 1;
    const uint64_t pb = lb == level ? b->present : 1;
    uint64_t mask = pa | pb;
    while (mask != 0) {
      const int idx = std::countr_zero(mask);
      mask &= mask - 1;
      const uint64_t key = prefix | (uint64_t(idx) << (6 * level));
      if (level == 0) {
        const V* va = (pa >> idx & 1) ? &a->vals[Slot(pa, idx)] : nullptr;
        const V* vb = (pb >> idx & 1) ? &b->vals[Slot(pb, idx)] : nullptr;
        f(key, va, vb);
        continue;
      }
      // The child of each side at this index, or the side itself when it
      // sits lower (only index 0 holds it).
      const Node* ka = nullptr;
      int lka = la;
      if (la == level) {
        if (pa >> idx & 1) ka = a->kids[Slot(pa, idx)].get();
        lka = la - 1;
      } else if (idx == 0) {
        ka = a;
      }
      const Node* kb = nullptr;
      int lkb = lb;
      if (lb == level) {
        if (pb >> idx & 1) kb = b->kids[Slot(pb, idx)].get();
        lkb = lb - 1;
      } else if (idx == 0) {
        kb = b;
      }
      DiffNodes(ka, lka, kb, lkb, key, f);
    }
  }

  std::shared_ptr<Node> root_;
  int levels_ = 0;
  size_t size_ = 0;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_PERSISTENT_MAP_H_
