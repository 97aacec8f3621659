#include "featurebase/partial.h"
#include "lib/pql/parser.h"
#include "lib/query/executor.h"
#include "lib/query/partial.h"
#include "lib/util/status_macros.h"

namespace featurebase {
namespace internal {

struct PartialAccess {
  static PartialResult Wrap(Partial p) {
    PartialResult r;
    *r.rep_ = std::move(p);
    return r;
  }
  static const Partial& Rep(const PartialResult& r) { return *r.rep_; }
};

}  // namespace internal

PartialResult::PartialResult() : rep_(std::make_unique<internal::Partial>()) {}
PartialResult::~PartialResult() = default;
PartialResult::PartialResult(const PartialResult& other)
    : rep_(std::make_unique<internal::Partial>(*other.rep_)) {}
PartialResult& PartialResult::operator=(const PartialResult& other) {
  if (this != &other) *rep_ = *other.rep_;
  return *this;
}
PartialResult::PartialResult(PartialResult&& other) noexcept
    : rep_(std::make_unique<internal::Partial>()) {
  rep_.swap(other.rep_);
}
PartialResult& PartialResult::operator=(PartialResult&& other) noexcept {
  rep_.swap(other.rep_);
  return *this;
}

const std::string& PartialResult::call() const { return rep_->call; }

Status PartialResult::Merge(const PartialResult& other) {
  return internal::MergePartial(rep_.get(), *other.rep_);
}

std::string PartialResult::Serialize() const {
  return internal::EncodePartial(*rep_);
}

StatusOr<PartialResult> PartialResult::Deserialize(std::string_view bytes) {
  FB_ASSIGN_OR_RETURN(internal::Partial p, internal::DecodePartial(bytes));
  return internal::PartialAccess::Wrap(std::move(p));
}

bool operator==(const PartialResult& a, const PartialResult& b) {
  return *a.rep_ == *b.rep_;
}

StatusOr<std::vector<PartialResult>> QueryPartial(
    Index& index, std::string_view pql, const PartialQueryOptions& options) {
  FB_ASSIGN_OR_RETURN(internal::pql::Query q, internal::pql::Parse(pql));
  QueryOptions qo;
  qo.threads = options.threads;
  FB_ASSIGN_OR_RETURN(
      std::vector<internal::Partial> parts,
      internal::ExecutePartial(
          index, q, qo, options.shards.empty() ? nullptr : &options.shards));
  std::vector<PartialResult> out;
  out.reserve(parts.size());
  for (internal::Partial& p : parts)
    out.push_back(internal::PartialAccess::Wrap(std::move(p)));
  return out;
}

StatusOr<QueryResult> FinishPartial(Index& index, const PartialResult& part) {
  return internal::FinishPartial(index, internal::PartialAccess::Rep(part),
                                 QueryOptions{});
}

}  // namespace featurebase
