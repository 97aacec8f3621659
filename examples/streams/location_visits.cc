#include "examples/streams/location_visits.h"

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "featurebase/query.h"

namespace featurebase::streams {

Status CreateLocationVisitFields(Index& index) {
  if (!index.options().keys) {
    return absl::FailedPreconditionError(
        absl::StrCat("create location visit fields: index \"", index.name(),
                     "\" has no record keys (users are keys)"));
  }
  FieldOptions locations = FieldOptions::Set();
  locations.keys = true;
  // A count never goes below zero; the upper bound only sizes the bit
  // slices (2^40 visits per user is more than any stream delivers).
  const std::vector<FieldInfo> fields = {
      {"locations", locations},
      {"visits", FieldOptions::Int(0, int64_t{1} << 40)}};
  return index.CreateFields(fields);
}

StatusOr<std::unique_ptr<LocationVisitWriter>> LocationVisitWriter::Create(
    Index* index, const BatchOptions& options) {
  BatchOptions o = options;
  o.merges["visits"] = Merge::kCount;
  StatusOr<std::unique_ptr<Batch>> batch =
      Batch::Create(index, {"locations", "visits"}, o);
  if (!batch.ok()) return batch.status();
  return std::unique_ptr<LocationVisitWriter>(
      new LocationVisitWriter(std::move(*batch)));
}

StatusOr<bool> LocationVisitWriter::Add(const LocationVisit& visit) {
  // kCount adds one per record with a value; the value itself is ignored.
  Record r{.id = visit.user,
           .values = {Value::Key(visit.location), Value::Int(1)}};
  return batch_->Add(r);
}

StatusOr<FlushResult> LocationVisitWriter::Flush() { return batch_->Flush(); }

StatusOr<std::string> UserVisitsPql(std::string_view user) {
  if (user.empty() || user.find_first_of("\"\\") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("user visits pql: user key \"", std::string(user),
                     "\" is empty or holds a quote or backslash"));
  }
  const std::string row =
      absl::StrCat("ConstRow(columns=[\"", std::string(user), "\"])");
  return absl::StrCat("Count(Distinct(", row, ", field=locations)) Sum(", row,
                      ", field=visits)");
}

StatusOr<std::vector<UserVisits>> QueryUserVisits(
    Index& index, const std::vector<std::string>& users) {
  std::string pql;
  for (const std::string& user : users) {
    StatusOr<std::string> one = UserVisitsPql(user);
    if (!one.ok()) return one.status();
    absl::StrAppend(&pql, *one, " ");
  }
  std::vector<UserVisits> out;
  if (users.empty()) return out;
  StatusOr<QueryResponse> res = Query(index, pql);
  if (!res.ok()) return res.status();
  if (res->results.size() != 2 * users.size()) {
    return absl::InternalError(
        absl::StrCat("query user visits: ", res->results.size(),
                     " results for ", users.size(), " users (want two each)"));
  }
  for (size_t i = 0; i < users.size(); ++i) {
    const QueryResult& distinct = res->results[2 * i];
    const QueryResult& sum = res->results[2 * i + 1];
    int64_t value = 0;
    uint64_t count = 0;
    int used = 0;
    if (distinct.kind() != QueryResult::Kind::kCount ||
        sum.kind() != QueryResult::Kind::kValue ||
        std::sscanf(sum.json().c_str(),
                    "{\"value\":%" SCNd64 ",\"count\":%" SCNu64 "}%n", &value,
                    &count, &used) != 2 ||
        size_t(used) != sum.json().size()) {
      return absl::InternalError(absl::StrCat(
          "query user visits: user \"", users[i], "\": unexpected results ",
          distinct.json(), " and ", sum.json()));
    }
    out.push_back({distinct.count(), value});
  }
  return out;
}

}  // namespace featurebase::streams
