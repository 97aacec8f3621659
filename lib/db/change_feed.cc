#include "lib/db/change_feed.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/util/status_util.h"

namespace featurebase {

// ---------------------------------------------------------------- the diff

namespace internal {
namespace {

// Pieces of one result bitmap, by shard, unioned once at the end.
class Accumulator {
 public:
  void Add(uint64_t shard, Roaring32 bits) {
    if (!bits.IsEmpty()) pieces_[shard].push_back(std::move(bits));
  }
  bool empty() const { return pieces_.empty(); }
  Bitmap Build() {
    std::vector<BitmapChunk> chunks;
    chunks.reserve(pieces_.size());
    for (auto& [shard, list] : pieces_) {
      if (list.size() == 1) {
        chunks.push_back({shard, std::move(list[0])});
        continue;
      }
      std::vector<const Roaring32*> ptrs;
      ptrs.reserve(list.size());
      for (const Roaring32& r : list) ptrs.push_back(&r);
      chunks.push_back({shard, Roaring32::OrMany(ptrs)});
    }
    pieces_.clear();
    return BitmapAccess::FromChunks(std::move(chunks));
  }

 private:
  absl::flat_hash_map<uint64_t, std::vector<Roaring32>> pieces_;
};

const Roaring32& EmptyBits() {
  static const Roaring32* empty = new Roaring32();
  return *empty;
}

// Columns whose bit in some row differs between fragments `a` and `b`
// (null = empty). A fragment present on one side only changes every column
// it holds: one union of its rows, no per-row xor.
void FragmentChanges(uint64_t shard, const Fragment* a, const Fragment* b,
                     Accumulator* out) {
  if (a != nullptr && b != nullptr && a->rows().SameAs(b->rows())) return;
  if (a == nullptr || b == nullptr) {
    const Fragment* only = a != nullptr ? a : b;
    std::vector<const RowData*> rows;
    only->rows().ForEach([&](uint64_t, const RowData& r) {
      rows.push_back(&r);
      return true;
    });
    if (!rows.empty()) out->Add(shard, RowData::Union(rows));
    return;
  }
  std::deque<Roaring32> scratch;
  PersistentMap<RowData>::Diff(
      a->rows(), b->rows(),
      [&](uint64_t, const RowData* ra, const RowData* rb) {
        if (ra != nullptr && rb != nullptr && ra->SharesBitsWith(*rb)) return;
        if (ra == nullptr || rb == nullptr) {
          out->Add(shard, (ra != nullptr ? ra : rb)->ToRoaring());
          return;
        }
        out->Add(shard, Roaring32::Xor(*ra->AsRoaring(&scratch),
                                       *rb->AsRoaring(&scratch)));
        scratch.clear();
      });
}

void ViewChanges(const View* a, const View* b, Accumulator* out) {
  static const View kNone;
  if (a != nullptr && b != nullptr && a->SameAs(*b)) return;
  View::Diff(a ? *a : kNone, b ? *b : kNone,
             [&](uint64_t shard, const Fragment* fa, const Fragment* fb) {
               FragmentChanges(shard, fa, fb, out);
             });
}

// Columns whose value differs: existence, sign or a magnitude bit.
void BsiChanges(const PersistentMap<BsiShard>& a,
                const PersistentMap<BsiShard>& b, Accumulator* out) {
  PersistentMap<BsiShard>::Diff(
      a, b, [&](uint64_t shard, const BsiShard* sa, const BsiShard* sb) {
        // Sign and planes lie within exists, so a shard on one side only
        // changes exactly its existing columns.
        if (sa == nullptr || sb == nullptr) {
          out->Add(shard, (sa != nullptr ? sa : sb)->Exists().Copy());
          return;
        }
        const int rows = 2 + std::max(sa->depth(), sb->depth());
        for (int r = 0; r < rows; ++r) {
          const Roaring32* ra = sa->row(r).get();
          const Roaring32* rb = sb->row(r).get();
          if (ra == rb) continue;
          out->Add(shard, Roaring32::Xor(ra ? *ra : EmptyBits(),
                                         rb ? *rb : EmptyBits()));
        }
      });
}

}  // namespace

ChangeSet DiffVersions(const IndexState& before, const IndexState& after) {
  ChangeSet cs;
  cs.from_version = before.version;
  cs.version = after.version;
  cs.commits = after.version - before.version;
  static const PersistentMap<View> kNoViews;
  static const PersistentMap<BsiShard> kNoShards;
  Accumulator acc;
  for (const auto& [name, f] : after.fields) {
    const FieldState* b = before.FindField(name);
    if (b == f.get()) continue;
    if (b == nullptr) cs.created_fields.push_back(name);
    const auto& bviews = b ? b->views : kNoViews;
    if (!bviews.SameAs(f->views)) {
      PersistentMap<View>::Diff(bviews, f->views,
                                [&](uint64_t, const View* va, const View* vb) {
                                  ViewChanges(va, vb, &acc);
                                });
    }
    BsiChanges(b ? b->bsi_shards : kNoShards, f->bsi_shards, &acc);
    if (!acc.empty()) cs.fields.push_back({name, acc.Build()});
  }
  // Index existence: row 0 of each shard's fragment.
  if (!before.exists.SameAs(after.exists)) {
    Accumulator added, deleted;
    View::Diff(
        before.exists, after.exists,
        [&](uint64_t shard, const Fragment* fa, const Fragment* fb) {
          const RowData* ra = fa ? fa->Row(0) : nullptr;
          const RowData* rb = fb ? fb->Row(0) : nullptr;
          if (ra == rb || (ra && rb && ra->SharesBitsWith(*rb))) return;
          std::deque<Roaring32> scratch;
          const Roaring32& x = ra ? *ra->AsRoaring(&scratch) : EmptyBits();
          const Roaring32& y = rb ? *rb->AsRoaring(&scratch) : EmptyBits();
          added.Add(shard, Roaring32::AndNot(y, x));
          deleted.Add(shard, Roaring32::AndNot(x, y));
        });
    cs.added = added.Build();
    cs.deleted = deleted.Build();
  }
  for (const auto& [source, offset] : after.stream_offsets) {
    auto it = before.stream_offsets.find(source);
    if (it != before.stream_offsets.end() && it->second == offset) continue;
    cs.stream_offsets.emplace_back(source, offset);
  }
  return cs;
}

// ---------------------------------------------------------------- a
// subscription

FeedSubscription::FeedSubscription(ChangeListener listener, size_t max_pending,
                                   uint64_t start_version, uint64_t published,
                                   SnapshotFactory make_snapshot,
                                   std::weak_ptr<ChangeFeed> feed)
    : listener_(std::move(listener)),
      max_pending_(max_pending),
      start_version_(start_version),
      make_snapshot_(make_snapshot),
      feed_(std::move(feed)),
      published_(published),
      delivered_(start_version) {}

FeedSubscription::~FeedSubscription() {
  // The thread holds a reference until it returns, so the last one can be
  // dropped on the thread itself, which cannot join itself.
  std::lock_guard<std::mutex> j(join_mu_);
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void FeedSubscription::Start() {
  std::lock_guard<std::mutex> j(join_mu_);
  std::lock_guard<std::mutex> l(mu_);
  thread_ = std::thread([self = shared_from_this()] { self->Run(); });
  // Named for tools (top -H, gdb) and for tests, which count the feed's
  // threads among the process's; named here, so it is named on return.
  pthread_setname_np(thread_.native_handle(), "fb-change-feed");
  thread_id_ = thread_.get_id();
}

void FeedSubscription::Push(const std::shared_ptr<const IndexState>& prev,
                            const std::shared_ptr<const IndexState>& next) {
  std::lock_guard<std::mutex> l(mu_);
  if (cancelled_ || closing_ || ended_) return;
  if (queue_.size() >= max_pending_) {
    // Merge the two newest pending sets (consecutive: the older one's next
    // is the newer one's prev) so that the new commit stays a set of its
    // own: the oldest sets keep becoming deliverable as they are published,
    // however fast commits arrive. With room for one set only, it absorbs
    // the commit.
    if (queue_.size() == 1) {
      queue_.back().next = next;
      return;
    }
    Pending last = std::move(queue_.back());
    queue_.pop_back();
    queue_.back().next = std::move(last.next);
  }
  queue_.push_back({prev, next});
}

void FeedSubscription::Published(uint64_t version) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (version <= published_) return;
    published_ = version;
    if (queue_.empty() || queue_.front().next->version > version) return;
  }
  cv_.notify_all();
}

void FeedSubscription::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    auto ready = [&] {
      return !queue_.empty() && queue_.front().next->version <= published_;
    };
    cv_.wait(l, [&] { return cancelled_ || closing_ || ready(); });
    if (cancelled_) break;
    if (!ready()) break;  // closing, and nothing published is left
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    Status st = Deliver(p);
    const uint64_t version = p.next->version;
    p = {};  // the versions are not pinned while we wait
    l.lock();
    if (!st.ok()) {
      status_ = std::move(st);
      break;
    }
    delivered_ = version;
    cv_.notify_all();
  }
  ended_ = true;
  queue_.clear();
  const bool failed = !status_.ok();
  l.unlock();
  cv_.notify_all();
  // Captures of the listener go with it, not with the last reference.
  listener_ = nullptr;
  if (failed) {
    if (auto feed = feed_.lock()) feed->Remove(this);
  }
}

Status FeedSubscription::Deliver(const Pending& p) {
  ChangeSet cs = DiffVersions(*p.prev, *p.next);
  cs.snapshot = make_snapshot_(p.next);
  Status st;
  try {
    st = listener_(cs);
  } catch (const std::exception& e) {
    return absl::UnknownError(fmt::format(
        "change feed: listener threw at version {}: {}", cs.version, e.what()));
  } catch (...) {
    return absl::UnknownError(
        fmt::format("change feed: listener threw at version {}: a non-standard "
                    "exception",
                    cs.version));
  }
  return Annotate(st, fmt::format("change feed: listener failed at version {}",
                                  cs.version));
}

void FeedSubscription::Join() {
  {
    // Checked before join_mu_: a Cancel from another thread may hold it
    // while joining this very thread.
    std::lock_guard<std::mutex> l(mu_);
    if (thread_id_ == std::this_thread::get_id()) return;
  }
  std::lock_guard<std::mutex> j(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void FeedSubscription::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  Join();
}

void FeedSubscription::Cancel() {
  if (auto feed = feed_.lock()) feed->Remove(this);
  {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  // From inside the listener the thread ends when the call returns; from
  // anywhere else, joining is waiting for the call in flight.
  Join();
}

uint64_t FeedSubscription::delivered_version() const {
  std::lock_guard<std::mutex> l(mu_);
  return delivered_;
}

bool FeedSubscription::active() const {
  std::lock_guard<std::mutex> l(mu_);
  return !cancelled_ && !ended_ && !closing_;
}

Status FeedSubscription::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

// ---------------------------------------------------------------- the hub

ChangeFeed::~ChangeFeed() { Shutdown(); }

void ChangeFeed::Enqueue(const std::shared_ptr<const IndexState>& prev,
                         const std::shared_ptr<const IndexState>& next) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& sub : subs_) sub->Push(prev, next);
}

void ChangeFeed::Published(uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& sub : subs_) sub->Published(version);
}

StatusOr<std::unique_ptr<Subscription>> ChangeFeed::Subscribe(
    ChangeListener listener, const SubscribeOptions& options, uint64_t latest,
    uint64_t published) {
  if (!listener) return absl::InvalidArgumentError("subscribe: empty listener");
  if (options.max_pending_commits == 0) {
    return absl::InvalidArgumentError(
        "subscribe: max_pending_commits 0 (must be at least 1)");
  }
  auto sub = std::make_shared<FeedSubscription>(
      std::move(listener), options.max_pending_commits, latest, published,
      make_snapshot_, weak_from_this());
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down_)
      return absl::FailedPreconditionError("subscribe: index is closing");
    sub->Start();
    subs_.push_back(sub);
    subscribers_.fetch_add(1, std::memory_order_release);
  }
  return ChangeFeedAccess::Wrap(std::move(sub));
}

void ChangeFeed::Remove(const FeedSubscription* sub) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = std::find_if(subs_.begin(), subs_.end(),
                         [&](const auto& s) { return s.get() == sub; });
  if (it == subs_.end()) return;
  subs_.erase(it);
  subscribers_.fetch_sub(1, std::memory_order_release);
}

void ChangeFeed::Shutdown() {
  std::vector<std::shared_ptr<FeedSubscription>> subs;
  {
    std::lock_guard<std::mutex> l(mu_);
    shut_down_ = true;
    subs.swap(subs_);
    subscribers_.store(0, std::memory_order_release);
  }
  for (const auto& sub : subs) sub->Close();
}

}  // namespace internal

// ---------------------------------------------------------------- public

std::unique_ptr<Subscription> ChangeFeedAccess::Wrap(
    std::shared_ptr<internal::FeedSubscription> sub) {
  return std::unique_ptr<Subscription>(new Subscription(std::move(sub)));
}

Subscription::Subscription(std::shared_ptr<internal::FeedSubscription> sub)
    : sub_(std::move(sub)) {}
Subscription::~Subscription() { sub_->Cancel(); }

uint64_t Subscription::start_version() const { return sub_->start_version(); }
uint64_t Subscription::delivered_version() const {
  return sub_->delivered_version();
}
bool Subscription::active() const { return sub_->active(); }
Status Subscription::status() const { return sub_->status(); }
void Subscription::Cancel() { sub_->Cancel(); }

StatusOr<std::unique_ptr<Subscription>> Subscribe(
    Index& index, ChangeListener listener, const SubscribeOptions& options) {
  return ChangeFeedAccess::Subscribe(index, std::move(listener), options);
}

}  // namespace featurebase
