// Evaluation of planned record sets, shard by shard: the plan tree (Node),
// the per-shard bits it yields (Bits), and the state one query's calls
// share (ExecState: the snapshot, the shards visited and the threads).
//
// A plan is evaluated per shard from the snapshot's fragments, borrowing
// bitmaps in place where it can; EvalGlobal and CountGlobal run every
// visited shard on the query's threads and assemble the result.
#ifndef FEATUREBASE_LIB_QUERY_EVAL_H_
#define FEATUREBASE_LIB_QUERY_EVAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurebase/bitmap.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "lib/bitmap/roaring32.h"
#include "lib/bsi/bsi_field.h"
#include "lib/core/index_state.h"
#include "lib/pql/ast.h"
#include "lib/util/thread_pool.h"

namespace featurebase::internal {

enum class NodeKind {
  kEmpty,
  kRow,        // field, views, row
  kAll,        // index existence
  kExistence,  // field existence (Row(f != null))
  kUnion,
  kIntersect,
  kDifference,
  kXor,
  kNot,
  kConst,  // a precomputed bitmap (Shift, Limit, ConstRow, Distinct, ...)
  kBsi,    // a comparison on a value field: field, predicate
};

// A planned set of records: every field, row, key and view is resolved, so
// evaluating it cannot fail.
struct Node {
  NodeKind kind = NodeKind::kEmpty;
  const FieldState* field = nullptr;
  std::vector<uint64_t> views;
  uint64_t row = 0;
  std::vector<Node> kids;
  std::shared_ptr<const Bitmap> constant;
  BsiPredicate predicate;
};

const Roaring32& EmptyBits();

// Per-shard bits: borrowed from the snapshot when possible, else owned.
struct Bits {
  const Roaring32* ref = &EmptyBits();
  std::optional<Roaring32> own;
  const Roaring32& get() const { return own ? *own : *ref; }
  Roaring32 Take() { return own ? std::move(*own) : ref->Copy(); }
  // A fragment row: borrowed when it is a bitmap, else built.
  static Bits Of(const internal::RowData& r) {
    Bits b;
    if (const Roaring32* big = r.roaring()) {
      b.ref = big;
    } else {
      b.own = r.ToRoaring();
    }
    return b;
  }
};

// What the calls of one query share: the index, its current snapshot, the
// shards visited and the threads for per-shard work. Thread-compatible:
// per-shard work only reads it.
struct ExecState {
  // `partial`: calls run as partial results (see partial.h) over `only`
  // (null: every shard); calls whose answer on some shards depends on other
  // shards are refused. `options.threads`: see QueryOptions.
  ExecState(Index& index, const QueryOptions& options, bool partial = false,
            const std::vector<uint64_t>* only = nullptr);

  // A fresh snapshot and its shard list (after writes).
  void Refresh();
  // A fresh snapshot; Options(shards=[...]) narrows the shards visited.
  absl::Status Restrict(const pql::Call& c);
  bool Visits(uint64_t shard) const;
  // fn(i) for every i in [0, shards.size()), on the query's threads.
  void ForShards(const std::function<void(size_t)>& fn) const;
  // fn(i) for every i in [0, n), on the query's threads: the calling thread
  // alone (threads = 1), at most `threads` threads of the process-wide pool
  // (threads > 1), or all of it (threads = 0).
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn) const;
  // The field `name` of the snapshot, or NotFound naming call `c`.
  absl::StatusOr<const FieldState*> Field(const pql::Call& c,
                                          std::string_view name) const;

  Index& index;
  bool partial = false;
  // Partials over some shards only: those shards.
  std::optional<std::set<uint64_t>> only;
  // Visiting a subset of the index's shards (partials, Options(shards=)).
  bool restricted = false;
  ThreadPool* pool = nullptr;  // null: the calling thread only
  size_t max_threads = 0;      // 0: the whole pool
  std::shared_ptr<const Snapshot> snap;
  const IndexState* st = nullptr;
  std::vector<uint64_t> shards;  // ascending
};

// The records of `n` in `shard`.
Bits Eval(const ExecState& es, const Node& n, uint64_t shard);
// The number of records of `n` in `shard`, without materializing where the
// shape allows a fused count.
uint64_t CountShard(const ExecState& es, const Node& n, uint64_t shard);
// The records of `n` over every visited shard.
Bitmap EvalGlobal(ExecState& es, const Node& n);
uint64_t CountGlobal(ExecState& es, const Node& n);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_EVAL_H_
