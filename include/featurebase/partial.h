// Partial query results: the answer of one read call over some of an
// index's shards, serializable and mergeable, so that a host which spreads
// an index's shards over several processes (or machines) can run a query in
// each and merge the answers itself:
//
//   // in each process, over the shards it holds:
//   auto parts = featurebase::QueryPartial(index, "TopN(f, n=5)");
//   send(parts->at(0).Serialize());
//   // in the coordinator:
//   featurebase::PartialResult total = *PartialResult::Deserialize(bytes0);
//   total.Merge(*PartialResult::Deserialize(bytes1));   // any order
//   auto r = featurebase::FinishPartial(coordinator_index, total);
//   // r->json() == what one process holding every shard would answer
//
// Merging is associative and commutative (counts add, TopN/TopK counts add
// per row, GroupBy counts and aggregates add per group, Min/Max keep the
// extreme and add tie counts, rows and values union); limits, ranking,
// having and sort are applied by FinishPartial, after the last merge. The
// executor answers every read this way, so merged partials equal the
// single-process answer exactly.
//
// Preconditions: the parts come from the same query over disjoint sets of
// shards, of indexes with the same fields and the same ids (record ids and
// row ids: unkeyed, or keys translated by one shared translator, as
// FeatureBase's cluster does). Keys are translated at FinishPartial, with
// the finishing index's translators.
//
// Not available as partials (InvalidArgument): writes (Set, Clear,
// ClearRow, Store, Delete); calls that need every shard at once
// (Percentile: it searches the value range with counts over every shard);
// and, inside another call, the calls whose records on one shard depend on
// other shards (Shift, Limit, All(limit=), Distinct). At the top level
// Limit, All(limit=) and Distinct are fine. In GroupBy, Rows children may
// not use limit= or column=; Sort inside Extract and Sort by a keyed
// mutex field are refused too (their order spans every shard). (These
// lists are checked against the executor's call table by
// tests/query/call_table_test.cc.)
//
// Thread-safety: PartialResult is a value (thread-compatible); QueryPartial
// and FinishPartial are as thread-safe as Query.
#ifndef FEATUREBASE_PARTIAL_H_
#define FEATUREBASE_PARTIAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/status.h"

namespace featurebase {

namespace internal {
struct Partial;
struct PartialAccess;
}  // namespace internal

// One call's partial result. Cheap to move, deep to copy.
class PartialResult {
 public:
  PartialResult();
  ~PartialResult();
  PartialResult(const PartialResult& other);
  PartialResult& operator=(const PartialResult& other);
  PartialResult(PartialResult&&) noexcept;
  PartialResult& operator=(PartialResult&&) noexcept;

  // The canonical PQL of the call this partial answers.
  const std::string& call() const;

  // Merges `other` (the same call over other shards) into this one.
  // InvalidArgument when `other` answers a different call. Linear in the
  // sizes of both.
  Status Merge(const PartialResult& other);

  // A versioned, checksummed encoding (docs/format.md, "Partial query
  // result").
  std::string Serialize() const;
  // Decodes and validates bytes from Serialize: DataLoss (naming the
  // offset) for truncated, corrupt or malformed bytes, never a crash.
  static StatusOr<PartialResult> Deserialize(std::string_view bytes);

  friend bool operator==(const PartialResult& a, const PartialResult& b);

 private:
  friend struct internal::PartialAccess;
  std::unique_ptr<internal::Partial> rep_;
};

struct PartialQueryOptions {
  // Shards to read; empty = every shard of the index. A host gives each
  // process the shards it owns (or lets each index hold only its own).
  std::vector<uint64_t> shards;
  // Threads for per-shard work, as QueryOptions::threads.
  size_t threads = 0;
};

// Parses `pql` and runs each call over the chosen shards, one partial per
// call, on one snapshot per call. Errors: as Query (InvalidArgument for
// syntax and semantic errors, NotFound for unknown fields), and
// InvalidArgument for calls that cannot run as partials (see above).
StatusOr<std::vector<PartialResult>> QueryPartial(
    Index& index, std::string_view pql,
    const PartialQueryOptions& options = {});

// The final result of a merged partial: limits, thresholds, ranking,
// having, sort, then the JSON shape of Query, with fields formatted and
// keys translated by `index` (which must hold the call's fields: NotFound
// otherwise).
StatusOr<QueryResult> FinishPartial(Index& index, const PartialResult& part);

}  // namespace featurebase

#endif  // FEATUREBASE_PARTIAL_H_
