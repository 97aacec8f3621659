// The call table is the one source of the partial refusals: the lists in
// include/featurebase/partial.h must name exactly the table's writes,
// whole-index calls and calls that cannot nest in a partial; and the table
// must be well formed (sorted for lookup, every call runnable).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "featurebase/index.h"
#include "featurebase/partial.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

using Names = std::set<std::string>;

// The comment text of include/featurebase/partial.h, one line.
std::string HeaderProse() {
  const std::filesystem::path path =
      std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "include" /
      "featurebase" / "partial.h";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line, out;
  while (std::getline(in, line)) {
    const size_t at = line.find("//");
    if (at != 0) continue;
    out += ' ' + line.substr(line.size() > 2 && line[2] == ' ' ? 3 : 2);
  }
  return out;
}

// The list that follows `opener` in `prose`, up to `end` (")" closes the
// parenthesis `opener` ends with, counting nested ones), split at ", " and
// " and ". Plain string search: GCC 12 warns inside <regex> under ASan.
Names ListAfter(const std::string& prose, const std::string& opener,
                const std::string& end) {
  const size_t from = prose.find(opener);
  EXPECT_NE(from, std::string::npos) << opener;
  if (from == std::string::npos) return {};
  const size_t start = from + opener.size();
  size_t stop = std::string::npos;
  if (end == ")") {
    int depth = 1;
    for (size_t i = start; i < prose.size(); ++i) {
      if (prose[i] == '(') ++depth;
      if (prose[i] == ')' && --depth == 0) {
        stop = i;
        break;
      }
    }
  } else {
    stop = prose.find(end, start);
  }
  EXPECT_NE(stop, std::string::npos) << opener << " ... " << end;
  if (stop == std::string::npos) return {};
  std::string list = prose.substr(start, stop - start);
  for (size_t at; (at = list.find(" and ")) != std::string::npos;)
    list.replace(at, 5, ", ");
  Names out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    const size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    out.insert(item.substr(first, item.find_last_not_of(' ') - first + 1));
  }
  return out;
}

// A nested-refusal entry as the header writes it.
std::string Shown(const CallSpec& s) {
  return s.nesting == Nesting::kTopLevelIfLimit
             ? std::string(s.name) + "(limit=)"
             : std::string(s.name);
}

TEST(CallTableTest, PartialHeaderListsMatchTheTable) {
  const std::string prose = HeaderProse();
  Names writes, whole, nested, top_level_fine;
  for (const CallSpec& s : CallTable()) {
    if (s.use == CallUse::kWrite) writes.insert(std::string(s.name));
    if (s.use == CallUse::kWhole) whole.insert(std::string(s.name));
    if (s.nesting != Nesting::kAnywhere) {
      nested.insert(Shown(s));
      // Refused inside other calls, but computed at the top level.
      if (s.compute != nullptr) top_level_fine.insert(Shown(s));
    }
  }
  EXPECT_EQ(ListAfter(prose, "writes (", ")"), writes);
  EXPECT_EQ(ListAfter(prose, "every shard at once (", ":"), whole);
  EXPECT_EQ(ListAfter(prose, "depend on other shards (", ")"), nested);
  EXPECT_EQ(ListAfter(prose, "At the top level ", " are fine"), top_level_fine);
}

TEST(CallTableTest, SortedUniqueAndEveryCallRuns) {
  const std::vector<CallSpec>& t = CallTable();
  ASSERT_FALSE(t.empty());
  for (size_t i = 0; i < t.size(); ++i) {
    const CallSpec& s = t[i];
    SCOPED_TRACE(std::string(s.name));
    if (i > 0) {
      EXPECT_LT(t[i - 1].name, s.name);
    }
    EXPECT_EQ(FindCall(s.name), &s);
    if (s.use == CallUse::kRead) {
      EXPECT_TRUE(s.plan != nullptr || s.compute != nullptr);
      EXPECT_EQ(s.run, nullptr);
    } else {
      EXPECT_NE(s.run, nullptr);
      EXPECT_EQ(s.compute, nullptr);
      EXPECT_EQ(s.plan, nullptr);
    }
  }
  EXPECT_EQ(FindCall("Bogus"), nullptr);
  EXPECT_EQ(FindCall(""), nullptr);
}

// Every call has its arguments listed (else CheckCallArgs would let a
// misspelt argument through); Options is the one wrapper the dispatcher
// unwraps before the call table.
TEST(CallTableTest, ArgumentTableNamesTheSameCalls) {
  Names with_args, calls{"Options"};
  for (std::string_view n : CallsWithArgs()) with_args.insert(std::string(n));
  for (const CallSpec& s : CallTable()) calls.insert(std::string(s.name));
  EXPECT_EQ(with_args, calls);
}

// Each refusal the table states holds through the public API.
TEST(CallTableTest, QueryPartialRefusesWhatTheTableRefuses) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(0, 9)));
  FB_ASSERT_OK(index->Set(1, "s", Value::Id(1)));
  // One valid call per name that the table refuses in a partial.
  const std::map<std::string, std::string> calls = {
      {"Clear", "Clear(1, s=1)"},
      {"ClearRow", "ClearRow(s=1)"},
      {"Delete", "Delete(Row(s=1))"},
      {"Set", "Set(1, s=1)"},
      {"Store", "Store(Row(s=1), s=2)"},
      {"Percentile", "Percentile(field=v, nth=50)"},
      {"Shift", "Count(Shift(Row(s=1), n=1))"},
      {"Limit", "Count(Limit(Row(s=1), limit=1))"},
      {"All", "Count(All(limit=1))"},
      {"Distinct", "Count(Union(Distinct(field=s)))"},
  };
  for (const CallSpec& s : CallTable()) {
    if (s.use == CallUse::kRead && s.nesting == Nesting::kAnywhere) continue;
    SCOPED_TRACE(std::string(s.name));
    auto it = calls.find(std::string(s.name));
    ASSERT_NE(it, calls.end()) << "add a call to this test";
    auto r = QueryPartial(*index, it->second);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << it->second;
  }
}

}  // namespace
}  // namespace featurebase::internal
