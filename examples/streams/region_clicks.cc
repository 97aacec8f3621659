#include "examples/streams/region_clicks.h"

#include <charconv>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "featurebase/query.h"

namespace featurebase::streams {
namespace {

bool NeedsEscape(std::string_view key) {
  return key.find_first_of("\"\\") != std::string_view::npos;
}

// A cursor over the GroupBy JSON that accepts exactly the shape the
// engine prints for one keyed group field with a Sum aggregate; anything
// else is an error naming the offset, never a guess.
class GroupScanner {
 public:
  explicit GroupScanner(std::string_view json) : json_(json) {}

  bool Literal(std::string_view lit) {
    if (json_.substr(pos_).starts_with(lit)) {
      pos_ += lit.size();
      return true;
    }
    return false;
  }
  Status Expect(std::string_view lit) {
    if (Literal(lit)) return absl::OkStatus();
    return Error(absl::StrCat("expected ", std::string(lit)));
  }
  // A string without escapes up to the closing quote.
  StatusOr<std::string> Key() {
    const size_t end = json_.find('"', pos_);
    if (end == std::string_view::npos) return Error("unterminated key");
    std::string key(json_.substr(pos_, end - pos_));
    if (key.empty() || key.find('\\') != std::string::npos)
      return Error("empty or escaped key");
    pos_ = end + 1;
    return key;
  }
  template <typename T>
  StatusOr<T> Number() {
    T v{};
    const char* first = json_.data() + pos_;
    const auto [ptr, ec] =
        std::from_chars(first, json_.data() + json_.size(), v);
    if (ec != std::errc()) return Error("expected a number");
    pos_ += size_t(ptr - first);
    return v;
  }
  bool AtEnd() const { return pos_ == json_.size(); }
  size_t pos() const { return pos_; }
  Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("parse region totals: ", std::string(what), " at offset ",
                     pos_, " of ", json_.size()));
  }

 private:
  std::string_view json_;
  size_t pos_ = 0;
};

}  // namespace

Status CreateRegionClickFields(Index& index) {
  if (!index.options().keys) {
    return absl::FailedPreconditionError(
        absl::StrCat("create region click fields: index \"", index.name(),
                     "\" has no record keys (users are keys)"));
  }
  FieldOptions region = FieldOptions::Mutex();
  region.keys = true;
  // The upper bound only sizes the bit slices: 2^40 clicks per user.
  const std::vector<FieldInfo> fields = {
      {"clicks", FieldOptions::Int(0, int64_t{1} << 40)}, {"region", region}};
  return index.CreateFields(fields);
}

StatusOr<std::unique_ptr<RegionTable>> RegionTable::Create(
    Index* index, const BatchOptions& options) {
  StatusOr<std::unique_ptr<Batch>> batch =
      Batch::Create(index, {"region"}, options);
  if (!batch.ok()) return batch.status();
  return std::unique_ptr<RegionTable>(new RegionTable(std::move(*batch)));
}

StatusOr<bool> RegionTable::Upsert(std::string_view user,
                                   std::string_view region) {
  if (user.empty() || region.empty() || NeedsEscape(region)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "region table upsert: user \"", std::string(user), "\" region \"",
        std::string(region), "\": empty, or the region holds '\"' or '\\'"));
  }
  Record r{.id = std::string(user),
           .values = {Value::Key(std::string(region))}};
  return batch_->Add(r);
}

Status RegionTable::Tombstone(std::string_view user) {
  static const std::string kFields[] = {"region"};
  return batch_->DeleteFields(std::string(user), kFields);
}

StatusOr<FlushResult> RegionTable::Flush() { return batch_->Flush(); }

StatusOr<std::unique_ptr<ClickStream>> ClickStream::Create(
    Index* index, const BatchOptions& options) {
  BatchOptions o = options;
  o.merges["clicks"] = Merge::kSum;
  StatusOr<std::unique_ptr<Batch>> batch = Batch::Create(index, {"clicks"}, o);
  if (!batch.ok()) return batch.status();
  return std::unique_ptr<ClickStream>(new ClickStream(std::move(*batch)));
}

StatusOr<bool> ClickStream::Add(std::string_view user, int64_t clicks) {
  Record r{.id = std::string(user), .values = {Value::Int(clicks)}};
  return batch_->Add(r);
}

StatusOr<FlushResult> ClickStream::Flush() { return batch_->Flush(); }

StatusOr<std::string> QueryRegionClicksJson(Index& index) {
  StatusOr<QueryResponse> res = Query(index, kRegionClicksPql);
  if (!res.ok()) return res.status();
  if (res->results.size() != 1 ||
      res->results[0].kind() != QueryResult::Kind::kGroups) {
    return absl::InternalError(absl::StrCat(
        "query region clicks: unexpected response ", res->ToJson()));
  }
  return res->results[0].json();
}

StatusOr<RegionTotals> ParseRegionTotals(std::string_view json) {
  GroupScanner s(json);
  RegionTotals out;
  if (Status st = s.Expect("["); !st.ok()) return st;
  bool first = true;
  while (!s.Literal("]")) {
    if (!first) {
      if (Status st = s.Expect(","); !st.ok()) return st;
    }
    first = false;
    const size_t at = s.pos();
    if (Status st = s.Expect("{\"group\":[{\"field\":\"region\",\"rowKey\":\"");
        !st.ok())
      return st;
    StatusOr<std::string> key = s.Key();
    if (!key.ok()) return key.status();
    if (Status st = s.Expect("}],\"count\":"); !st.ok()) return st;
    StatusOr<uint64_t> count = s.Number<uint64_t>();
    if (!count.ok()) return count.status();
    if (Status st = s.Expect(",\"sum\":"); !st.ok()) return st;
    StatusOr<int64_t> sum = s.Number<int64_t>();
    if (!sum.ok()) return sum.status();
    if (Status st = s.Expect("}"); !st.ok()) return st;
    if (!out.emplace(*key, RegionTotal{*count, *sum}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("parse region totals: region \"", *key,
                       "\" given twice (group at offset ", at, ")"));
    }
  }
  if (!s.AtEnd()) return s.Error("trailing bytes");
  return out;
}

StatusOr<RegionTotals> QueryRegionTotals(Index& index) {
  StatusOr<std::string> json = QueryRegionClicksJson(index);
  if (!json.ok()) return json.status();
  return ParseRegionTotals(*json);
}

}  // namespace featurebase::streams
