// The dispatcher: each call, by its row in the call table (calls.h), either
// runs directly (writes, Percentile) or is computed as a partial over the
// visited shards and finished.
#include "lib/query/executor.h"

#include <string>
#include <utility>

#include "fmt/format.h"
#include "lib/pql/parser.h"
#include "lib/pql/printer.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/eval.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {
namespace {

using pql::Call;

const Call& Unwrap(const Call& c) {
  return c.name == "Options" && c.children.size() == 1 ? c.children[0] : c;
}

// The partial result of read call `c` over es.shards.
absl::StatusOr<Partial> Compute(ExecState& es, const Call& c) {
  const CallSpec* spec = FindCall(c.name);
  if (spec == nullptr) return CallError(c, "is not a row call");
  if (spec->use != CallUse::kRead)
    return CallError(c, "cannot run as a partial result");
  if (spec->compute != nullptr) return spec->compute(es, c);
  return ComputeRow(es, c);
}

// The final result of read call `c` from its (merged) partial.
absl::StatusOr<QueryResult> Finish(ExecState& es, const Call& c, Partial p) {
  const CallSpec* spec = FindCall(c.name);
  if (spec != nullptr && spec->finish != nullptr)
    return spec->finish(es, c, std::move(p));
  return FinishByKind(es, c, std::move(p));
}

absl::StatusOr<QueryResult> Dispatch(ExecState& es, const Call& c) {
  const CallSpec* spec = FindCall(c.name);
  if (spec != nullptr && spec->run != nullptr) return spec->run(es, c);
  // Every read: computed as a partial over the visited shards, finished.
  FB_ASSIGN_OR_RETURN(Partial p, Compute(es, c));
  return Finish(es, c, std::move(p));
}

absl::StatusOr<QueryResult> Run(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(CheckCallArgs(c));
  FB_RETURN_IF_ERROR(es.Restrict(c));
  return Dispatch(es, Unwrap(c));
}

// `c` as a partial result.
absl::StatusOr<Partial> RunPartial(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(CheckCallArgs(c));
  FB_RETURN_IF_ERROR(es.Restrict(c));
  const Call& call = Unwrap(c);
  const CallSpec* spec = FindCall(call.name);
  if (spec != nullptr && spec->use != CallUse::kRead) {
    return CallError(call,
                     "cannot run as a partial result (writes and "
                     "Percentile need the whole index)");
  }
  FB_ASSIGN_OR_RETURN(Partial p, Compute(es, call));
  p.call = internal::pql::Print(c);
  return p;
}

bool IsWrite(const Call& c) {
  const CallSpec* spec = FindCall(Unwrap(c).name);
  return spec != nullptr && spec->use == CallUse::kWrite;
}

// The failure of call `i` (0-based) of `query` after the calls before it
// ran: a caller must learn that the writes among them stay applied.
absl::Status FailedAfterWrites(const absl::Status& s, const pql::Query& query,
                               size_t i) {
  std::string text = pql::Print(query.calls[i]);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  const std::string applied =
      i == 1 ? "call 1 was applied" : fmt::format("calls 1-{} were applied", i);
  return absl::Status(
      s.code(), fmt::format("call {} of {} ({}) failed: {}; {}", i + 1,
                            query.calls.size(), text, Message(s), applied));
}

}  // namespace

absl::StatusOr<std::vector<Partial>> ExecutePartial(
    Index& index, const pql::Query& query, const QueryOptions& options,
    const std::vector<uint64_t>* shards) {
  std::vector<Partial> out;
  ExecState es(index, options, /*partial=*/true, shards);
  for (const Call& c : query.calls) {
    FB_ASSIGN_OR_RETURN(Partial p, RunPartial(es, c));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<QueryResult> FinishPartial(Index& index, const Partial& p,
                                          const QueryOptions& options) {
  FB_ASSIGN_OR_RETURN(pql::Query q, pql::Parse(p.call));
  if (q.calls.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("finish partial result: \"{}\" is not one call", p.call));
  }
  ExecState es(index, options);
  es.Refresh();
  return Finish(es, Unwrap(q.calls[0]), p);
}

absl::StatusOr<QueryResponse> Execute(Index& index, const pql::Query& query,
                                      const QueryOptions& options) {
  QueryResponse response;
  ExecState es(index, options);
  bool wrote = false;
  for (size_t i = 0; i < query.calls.size(); ++i) {
    absl::StatusOr<QueryResult> r = Run(es, query.calls[i]);
    if (!r.ok()) {
      if (!wrote) return r.status();
      return FailedAfterWrites(r.status(), query, i);
    }
    wrote |= IsWrite(query.calls[i]);
    response.results.push_back(*std::move(r));
  }
  return response;
}

}  // namespace featurebase::internal
