// The smallest useful program: a durable index, a batch of records, a query,
// and the same answer after reopening.  Usage: hello <new-data-dir>
#include <cstdio>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/query.h"

namespace fb = featurebase;

int Fail(const fb::Status& s) {
  std::fprintf(stderr, "hello: %s\n", s.ToString().c_str());
  return 1;
}

// Creates the fields and loads 1000 trips in one atomic batch.
fb::Status Load(fb::Index& index) {
  std::vector<fb::FieldInfo> fields = {
      {"cab", fb::FieldOptions::Mutex()},
      {"fare", fb::FieldOptions::Int(0, 1000)}};
  if (fb::Status s = index.CreateFields(fields); !s.ok()) return s;
  auto batch = fb::Batch::Create(&index, {"cab", "fare"});
  if (!batch.ok()) return batch.status();
  for (uint64_t trip = 0; trip < 1000; ++trip) {
    fb::Record r{
        .id = trip,
        .values = {fb::Value::Id(trip % 3), fb::Value::Int(trip % 50)}};
    if (auto added = (*batch)->Add(r); !added.ok()) return added.status();
  }
  return (*batch)->Flush().status();
}

int main(int argc, char** argv) {
  if (argc != 2)
    return std::fprintf(stderr, "usage: hello <new-data-dir>\n"), 2;
  fb::OpenOptions options;
  options.name = "trips";
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reopens the dir
    auto index = fb::Index::Open(options, argv[1]);
    if (!index.ok()) return Fail(index.status());
    if (pass == 0)
      if (fb::Status s = Load(**index); !s.ok()) return Fail(s);
    auto result =
        fb::Query(**index, "Count(Row(cab=1)) Sum(Row(cab=1), field=fare)");
    if (!result.ok()) return Fail(result.status());
    std::printf("%s\n", result->ToJson().c_str());
  }
  return 0;
}
