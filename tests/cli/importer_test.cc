// import-csv in process (in-memory indexes): every column type reaches the
// right field, bad rows go to the rejects file with line and reason, id
// modes, headers from the flag, gzip, and the pipelined import giving the
// same index as the single-threaded one.
#include "examples/fbc/importer.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "examples/fbc/csv_reader.h"
#include "examples/fbc/header.h"
#include "examples/fbc/row_converter.h"
#include "featurebase/query.h"
#include "tests/util/status_matchers.h"

namespace fbc {
namespace {

using featurebase::Index;

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fbc_importer_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::unique_ptr<Index> NewIndex(bool keys = false) {
    featurebase::IndexOptions o;
    o.keys = keys;
    return *Index::Create("t", o);
  }
  static std::string Q(Index& index, const std::string& pql) {
    auto r = featurebase::Query(index, pql);
    if (!r.ok()) return featurebase::ErrorJson(r.status());
    return r->ToJson();
  }
  ImportResult Import(Index& index, const ImportOptions& o) {
    auto r = ImportCsv(index, o, nullptr, nullptr);
    FB_EXPECT_OK(r);
    return r.ok() ? *r : ImportResult();
  }

  std::filesystem::path dir_;
};

const char kAllTypes[] =
    "id__ID,name__String_T,tags__StringArray,nums__IDArray,n__Int_0_100,"
    "amt__Decimal_2,ok__Bool,at__Timestamp,zone__String_F_YMD,t__RecordTime,"
    "skip__Ignore\n"
    "1,alice,\"a,b\",\"[1,2]\",5,1.5,true,2020-01-02T03:04:05Z,z1,"
    "2020-01-02T00:00:00Z,whatever\n"
    "2,bob,,3,100,-0.25,f,,z1,2021-06-01T00:00:00Z,x\n"
    "3,\"carol, jr\",[c],,,,0,,z2,,y\n"
    "4,dave,,,101,,,,,,\n"
    "x,eve,,,,,,,,,\n"
    "6,frank,,,,1.234,,,,,\n"
    "7,short\n"
    "8,gil,,,,,maybe,,,,\n"
    "9,hal,,,,,,,,2020-13-01T00:00:00Z,\n";

TEST_F(ImporterTest, EveryColumnTypeAndRejectedRows) {
  auto index = NewIndex();
  ImportOptions o;
  o.files = {Write("all.csv", kAllTypes)};
  o.ids.mode = IdOptions::Mode::kIdField;
  o.ids.id_field = "id";
  o.rejects_path = (dir_ / "rejects.txt").string();
  const ImportResult r = Import(*index, o);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.rejected, 6u);
  const std::string& f = o.files[0];
  EXPECT_EQ(ReadFile(o.rejects_path),
            f + ":5: column 5 \"n\": \"101\" is out of range [0, 100]\n" + f +
                ":6: column 1 \"id\": \"x\" is not an unsigned integer\n" + f +
                ":7: column 6 \"amt\": \"1.234\" is not a decimal with at "
                "most 2 fraction digits\n" +
                f + ":8: 2 fields, header has 11\n" + f +
                ":9: column 7 \"ok\": \"maybe\" is not a bool (1/t/true or "
                "0/f/false)\n" +
                f +
                ":10: column 10 \"t\": \"2020-13-01T00:00:00Z\" does not match "
                "layout 2006-01-02T15:04:05Z07:00\n");
  EXPECT_EQ(Q(*index, "Row(name=\"alice\")"),
            "{\"results\":[{\"columns\":[1]}]}");
  EXPECT_EQ(Q(*index, "Row(name=\"carol, jr\")"),
            "{\"results\":[{\"columns\":[3]}]}");
  EXPECT_EQ(Q(*index, "Count(Row(tags=\"a\")) Count(Row(tags=\"c\"))"),
            "{\"results\":[1,1]}");
  EXPECT_EQ(Q(*index, "Row(nums=2) Row(nums=3)"),
            "{\"results\":[{\"columns\":[1]},{\"columns\":[2]}]}");
  EXPECT_EQ(Q(*index, "Sum(field=n)"),
            "{\"results\":[{\"value\":105,\"count\":2}]}");
  EXPECT_EQ(Q(*index, "Sum(field=amt)"),
            "{\"results\":[{\"value\":1.25,\"count\":2}]}");
  EXPECT_EQ(Q(*index, "Row(ok=true) Row(ok=false)"),
            "{\"results\":[{\"columns\":[1]},{\"columns\":[2,3]}]}");
  EXPECT_EQ(Q(*index, "Count(Row(at > \"2020-01-01T00:00:00Z\"))"),
            "{\"results\":[1]}");
  EXPECT_EQ(Q(*index,
              "Row(zone=\"z1\", from=\"2020-01-01T00:00\", "
              "to=\"2020-02-01T00:00\") Row(zone=\"z1\") Row(zone=\"z2\")"),
            "{\"results\":[{\"columns\":[1]},{\"columns\":[1,2]},{\"columns\":"
            "[3]}]}");
  EXPECT_EQ(Q(*index, "Count(All())"), "{\"results\":[3]}");
  // The id column and Ignore columns are not fields.
  EXPECT_FALSE(index->GetSnapshot()->Field("id").ok());
  EXPECT_FALSE(index->GetSnapshot()->Field("skip").ok());
}

TEST_F(ImporterTest, AutoGeneratedIdsAndHeaderFlagWithIgnoredHeaderRow) {
  auto index = NewIndex();
  ImportOptions o;
  o.files = {Write("a.csv", "whatever,header\nx,1\ny,2\nx,3\n")};
  o.header = std::vector<std::string>{"k__String_T", "v__Int"};
  o.ignore_header = true;
  const ImportResult r = Import(*index, o);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(Q(*index, "Row(k=\"x\")"), "{\"results\":[{\"columns\":[0,2]}]}");
  // Without ignore_header the first row is data (and here a bad Int).
  auto index2 = NewIndex();
  o.ignore_header = false;
  o.rejects_path = (dir_ / "rej").string();
  EXPECT_EQ(Import(*index2, o).rejected, 1u);
  EXPECT_EQ(ReadFile(o.rejects_path),
            o.files[0] + ":1: column 2 \"v\": \"header\" is not an integer\n");
}

// A wide header's fields are created in one schema commit (n commits of
// one field each copied the field table n times: quadratic).
TEST_F(ImporterTest, WideHeaderCreatesItsFieldsInOneCommit) {
  auto index = NewIndex();
  std::string header, row;
  for (int i = 0; i < 2000; ++i) {
    header += (i ? "," : "") + std::string("f") + std::to_string(i) + "__Int";
    row += (i ? "," : "") + std::to_string(i * 3);
  }
  ImportOptions o;
  o.files = {Write("wide.csv", header + "\n" + row + "\n" + row + "\n")};
  EXPECT_EQ(Import(*index, o).records, 2u);
  // One commit for the schema, one for the batch.
  EXPECT_EQ(index->GetSnapshot()->version(), 2u);
  EXPECT_EQ(index->GetSnapshot()->Fields().size(), 2000u);
  EXPECT_EQ(Q(*index, "Sum(field=f1999)"),
            "{\"results\":[{\"value\":11994,\"count\":2}]}");
}

// Generated ids never overwrite records imported with explicit ids.
TEST_F(ImporterTest, AutoGeneratedIdsStartPastImportedIds) {
  auto index = NewIndex();
  ImportOptions o;
  o.files = {Write("ids.csv", "id__ID,v__Int\n1,10\n2,20\n")};
  o.ids.mode = IdOptions::Mode::kIdField;
  o.ids.id_field = "id";
  EXPECT_EQ(Import(*index, o).records, 2u);
  std::string rows = "v__Int\n";
  for (int i = 0; i < 3000; ++i) rows += "7\n";
  ImportOptions gen;
  gen.files = {Write("gen.csv", rows)};
  EXPECT_EQ(Import(*index, gen).records, 3000u);
  EXPECT_EQ(Q(*index, "Count(All())"), "{\"results\":[3002]}");
  EXPECT_EQ(Q(*index, "Sum(field=v)"),
            "{\"results\":[{\"value\":21030,\"count\":3002}]}");
}

TEST_F(ImporterTest, PrimaryKeysJoinFieldsAndASingleStringKeyIsNotAField) {
  auto index = NewIndex(true);
  ImportOptions o;
  o.files = {
      Write("pk.csv", "a__ID,b__String,v__Int\n1,x,10\n1,y,20\n1,x,30\n")};
  o.ids.mode = IdOptions::Mode::kPrimaryKey;
  o.ids.primary_key_fields = {"a", "b"};
  EXPECT_EQ(Import(*index, o).records, 3u);
  // "1|x" twice: the last value wins; both fields are also indexed.
  EXPECT_EQ(Q(*index, "Count(All()) Sum(field=v)"),
            "{\"results\":[2,{\"value\":50,\"count\":2}]}");
  FB_EXPECT_OK(index->GetSnapshot()->Field("a"));
  auto* keys = index->GetSnapshot()->ColumnKeys();
  ASSERT_NE(keys, nullptr);

  auto single = NewIndex(true);
  o.files = {Write("pk1.csv", "name__String,v__Int\nann,1\nbo,2\n")};
  o.ids.primary_key_fields = {"name"};
  EXPECT_EQ(Import(*single, o).records, 2u);
  EXPECT_FALSE(single->GetSnapshot()->Field("name").ok());
  EXPECT_EQ(Q(*single, "Sum(field=v)"),
            "{\"results\":[{\"value\":3,\"count\":2}]}");
}

TEST_F(ImporterTest, PrimaryKeyPartsContainingTheSeparatorAreRejected) {
  auto index = NewIndex(true);
  ImportOptions o;
  const std::string csv = Write(
      "pk.csv", "k1__String,k2__String,v__Int\na|b,c,1\na,b|c,2\nx,y,3\n");
  o.files = {csv};
  o.ids.mode = IdOptions::Mode::kPrimaryKey;
  o.ids.primary_key_fields = {"k1", "k2"};
  o.rejects_path = (dir_ / "rejects.txt").string();
  const ImportResult r = Import(*index, o);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_EQ(ReadFile(o.rejects_path),
            csv +
                ":2: column 1 \"k1\": \"a|b\" contains the primary key "
                "separator '|' at byte 2\n" +
                csv +
                ":3: column 2 \"k2\": \"b|c\" contains the primary key "
                "separator '|' at byte 2\n");
  EXPECT_EQ(Q(*index, "Sum(field=v)"),
            "{\"results\":[{\"value\":3,\"count\":1}]}");

  // One part is never ambiguous: FeatureBase's rendering is kept.
  auto single = NewIndex(true);
  o.files = {Write("pk1.csv", "k__String,v__Int\na|b,7\n")};
  o.ids.primary_key_fields = {"k"};
  EXPECT_EQ(Import(*single, o).records, 1u);
  EXPECT_EQ(Q(*single, "Sum(field=v)"),
            "{\"results\":[{\"value\":7,\"count\":1}]}");
}

// A decimal that does not fit says it overflows; a malformed one or one
// with too many places says what a decimal cell must be.
TEST(RowConverterTest, DecimalOverflowIsNamedApartFromMalformedCells) {
  int64_t v = 0;
  bool overflow = true;
  EXPECT_TRUE(ParseDecimalCell(" -1.5 ", 2, &v, &overflow));
  EXPECT_EQ(v, -150);
  EXPECT_FALSE(overflow);
  EXPECT_TRUE(ParseDecimalCell("-92233720368547758.08", 2, &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(ParseDecimalCell("92233720368547758.07", 2, &v));
  EXPECT_EQ(v, INT64_MAX);
  for (const char* big : {"92233720368547758.08", "99999999999999999999.5",
                          "-92233720368547758.09", "100000000000000000"}) {
    EXPECT_FALSE(ParseDecimalCell(big, 2, &v, &overflow)) << big;
    EXPECT_TRUE(overflow) << big;
    EXPECT_EQ(DecimalCellError(big, 2),
              "overflows a decimal of scale 2 (unscaled value outside "
              "[-9223372036854775808, 9223372036854775807])");
  }
  for (const char* bad : {"1.555", "1.2.3", "", ".", "-", "1e5", "12a"}) {
    EXPECT_FALSE(ParseDecimalCell(bad, 2, &v, &overflow)) << bad;
    EXPECT_FALSE(overflow) << bad;
    EXPECT_EQ(DecimalCellError(bad, 2),
              "is not a decimal with at most 2 fraction digits");
  }
}

TEST(RowConverterTest, DuplicatePrimaryKeyFieldsAreRefused) {
  auto specs = ParseHeader({"k__String", "v__Int"});
  FB_ASSERT_OK(specs);
  IdOptions ids;
  ids.mode = IdOptions::Mode::kPrimaryKey;
  ids.primary_key_fields = {"k", "v", "k"};
  auto c = RowConverter::Create(*specs, ids);
  EXPECT_EQ(c.status(),
            absl::InvalidArgumentError(
                "--primary-key-fields: \"k\" given twice (parts 1 and 3)"));
}

TEST_F(ImporterTest, InvalidUtf8KeysRejectTheRowNamingColumnAndByte) {
  auto index = NewIndex();
  ImportOptions o;
  const std::string csv = Write(
      "utf8.csv",
      "id__ID,name__String,tags__StringArray\n1,ok,a\n2,b\xff"
      "d,a\n3,x,\"a,\xc3(\"\n4,\xc3\xa9,\xe2\x82\xac\n5,\xed\xa0\x80,a\n");
  o.files = {csv};
  o.ids.mode = IdOptions::Mode::kIdField;
  o.ids.id_field = "id";
  o.rejects_path = (dir_ / "rejects.txt").string();
  const ImportResult r = Import(*index, o);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.rejected, 3u);
  EXPECT_EQ(ReadFile(o.rejects_path),
            csv +
                ":3: column 2 \"name\": \"b\\xffd\" is not valid UTF-8 "
                "(byte 2)\n" +
                csv +
                ":4: column 3 \"tags\": \"a,\\xc3(\" is not valid "
                "UTF-8 (byte 3)\n" +
                csv +
                ":6: column 2 \"name\": \"\\xed\\xa0\\x80\" is not "
                "valid UTF-8 (byte 1)\n");
  EXPECT_EQ(Q(*index,
              "Row(name=\"ok\") Row(name=\"\xc3\xa9\") "
              "Row(tags=\"\xe2\x82\xac\")"),
            "{\"results\":[{\"columns\":[1]},{\"columns\":[4]},"
            "{\"columns\":[4]}]}");
}

TEST_F(ImporterTest, AFailedImportReportsWhatItCommitted) {
  const std::string first = Write("a.csv", "v__Int\n1\n2\n3\n");
  // A bad header in the second file: the first is committed, up to line 4.
  const std::string bad_header = Write("b.csv", "v__Nope\n4\n");
  for (int concurrency : {1, 2}) {
    auto index = NewIndex();
    ImportOptions o;
    o.files = {first, bad_header};
    o.batch_size = 2;
    o.concurrency = concurrency;
    ImportResult committed;
    auto r = ImportCsv(*index, o, nullptr, nullptr, &committed);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(committed.records, 3u);
    EXPECT_EQ(committed.last_file, first);
    EXPECT_EQ(committed.last_line, 4u);
    EXPECT_EQ(committed.CommittedJson(),
              "{\"records\":3,\"file\":\"" + first + "\",\"line\":4}");
    EXPECT_EQ(Q(*index, "Count(All())"), "{\"results\":[3]}");
  }
  // Garbage after the rows of a gzipped second file: single-threaded, the
  // full batch (lines 2 and 3) is committed before the read fails.
  const std::string member = [] {
    std::string out(256, '\0');
    const std::string text = "v__Int\n4\n5\n6\n";
    uLongf n = uLongf(out.size());
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = uInt(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(n);
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }();
  const std::string garbage = Write("c.csv.gz", member + "junk");
  for (int concurrency : {1, 2}) {
    auto index = NewIndex();
    ImportOptions o;
    o.files = {first, garbage};
    o.batch_size = 2;
    o.concurrency = concurrency;
    ImportResult committed;
    auto r = ImportCsv(*index, o, nullptr, nullptr, &committed);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), absl::DataLossError(
                              "gunzip " + garbage +
                              ": trailing garbage after gzip member at byte "
                              "offset " +
                              std::to_string(member.size())));
    // Whatever the pipeline had flushed: the report and the index agree.
    EXPECT_EQ(Q(*index, "Count(All())"),
              "{\"results\":[" + std::to_string(committed.records) + "]}")
        << "concurrency " << concurrency;
    if (concurrency == 1) {
      EXPECT_EQ(committed.records, 5u);
      EXPECT_EQ(committed.last_file, garbage);
      EXPECT_EQ(committed.last_line, 3u);
    } else {
      EXPECT_GE(committed.records, 3u);
      EXPECT_EQ(committed.last_file, committed.records > 3 ? garbage : first);
    }
  }
}

TEST_F(ImporterTest, IdModeMustMatchTheIndex) {
  auto keyed = NewIndex(true);
  ImportOptions o;
  o.files = {Write("a.csv", "v__Int\n1\n")};
  auto r = ImportCsv(*keyed, o, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "index \"t\" has record keys: use --primary-key-fields");
  auto plain = NewIndex();
  o.ids.mode = IdOptions::Mode::kIdField;
  o.ids.id_field = "nope";
  r = ImportCsv(*plain, o, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "--id-field: no header column writes \"nope\"");
}

TEST_F(ImporterTest, BadHeaderAndConflictingFieldAreErrors) {
  auto index = NewIndex();
  ImportOptions o;
  o.files = {Write("bad.csv", "a__ID,b__Nope\n1,2\n")};
  auto r = ImportCsv(*index, o, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      std::string(r.status().message()),
      o.files[0] + ": header column 2 \"b__Nope\": unknown type \"Nope\"");
  FB_ASSERT_OK(index->CreateField("a", featurebase::FieldOptions::Mutex()));
  o.files = {Write("conf.csv", "a__Int\n1\n")};
  r = ImportCsv(*index, o, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(r.status().message()),
            "field \"a\" exists as mutex, header column \"a__Int\" wants int");
}

TEST_F(ImporterTest, GzipAndSeveralFiles) {
  auto index = NewIndex();
  const std::string gz = (dir_ / "b.csv.gz").string();
  gzFile f = gzopen(gz.c_str(), "wb");
  const std::string text = "v__Int\n7\n8\n";
  gzwrite(f, text.data(), unsigned(text.size()));
  gzclose(f);
  ImportOptions o;
  o.files = {Write("a.csv", "v__Int\n1\n"), gz};
  EXPECT_EQ(Import(*index, o).records, 3u);
  EXPECT_EQ(Q(*index, "Sum(field=v)"),
            "{\"results\":[{\"value\":16,\"count\":3}]}");
}

TEST_F(ImporterTest, PipelinedImportEqualsSingleThreaded) {
  std::string text = "k__String_T,n__Int,s__IDArray\n";
  for (int i = 0; i < 1000; ++i)
    text += "k" + std::to_string(i % 13) + "," + std::to_string(i) + ",\"" +
            std::to_string(i % 7) + "," + std::to_string(i % 5) + "\"\n";
  const std::string path = Write("p.csv", text);
  std::string answers[2];
  for (int c = 1; c <= 2; ++c) {
    auto index = NewIndex();
    ImportOptions o;
    o.files = {path};
    o.batch_size = 37;
    o.concurrency = c;
    o.read_buffer_bytes = 100;
    EXPECT_EQ(Import(*index, o).records, 1000u);
    answers[c - 1] = Q(*index,
                       "Sum(field=n) Row(k=\"k3\") Count(Row(s=4)) "
                       "Count(All())");
  }
  EXPECT_EQ(answers[0], answers[1]);
  EXPECT_NE(answers[0].find("{\"value\":499500,\"count\":1000}"),
            std::string::npos)
      << answers[0];
}

// import-csv's bulk load: an index opened with Durability::kCheckpoint,
// checkpointed as batches land. The directory as a crash would leave it
// after the import (no Sync) holds the batches up to the last checkpoint
// the policy calls for (pipelined: a prefix); after Sync, all of them.
TEST_F(ImporterTest, CheckpointEachFlushMakesBatchesDurableAsTheyLand) {
  // Two files (each ends with a partial batch); the policy spans both.
  constexpr int kRows = 1000, kBatch = 37, kFileRows[] = {400, 600};
  ImportOptions o;
  for (int f = 0, first = 0; f < 2; first += kFileRows[f++]) {
    std::string text = "k__String_T,n__Int,s__IDArray\n";
    for (int i = first; i < first + kFileRows[f]; ++i)
      text += "k" + std::to_string(i % 13) + "," + std::to_string(i) + ",\"" +
              std::to_string(i % 7) + "," + std::to_string(i % 5) + "\"\n";
    o.files.push_back(Write("p" + std::to_string(f) + ".csv", text));
  }
  const std::string pql =
      "Sum(field=n) Row(k=\"k3\") Count(Row(s=4)) Count(All())";
  o.batch_size = kBatch;
  o.read_buffer_bytes = 100;
  auto mem = NewIndex();
  EXPECT_EQ(Import(*mem, o).records, uint64_t(kRows));
  const std::string want = Q(*mem, pql);
  // The policy (importer.h): checkpoint once the records since the last
  // checkpoint are at least half of those before it.
  uint64_t durable = 0, since = 0;
  for (int rows : kFileRows) {
    for (int done = 0; done < rows; done += kBatch) {
      since += uint64_t(std::min(kBatch, rows - done));
      if (since >= std::max<uint64_t>(1, durable / 2)) {
        durable += since;
        since = 0;
      }
    }
  }
  ASSERT_LT(durable, uint64_t(kRows)) << "the test wants a tail to lose";
  // Rows 0..m-1 of the input: n sums to m(m-1)/2.
  auto sum_of = [](uint64_t m) {
    return "{\"value\":" + std::to_string(m * (m - 1) / 2) +
           ",\"count\":" + std::to_string(m) + "}";
  };
  for (int c = 1; c <= 2; ++c) {
    SCOPED_TRACE("concurrency " + std::to_string(c));
    const auto live = dir_ / ("live" + std::to_string(c));
    featurebase::OpenOptions open;
    open.name = "t";
    open.durability = featurebase::Durability::kCheckpoint;
    auto index = Index::Open(open, live.string());
    FB_ASSERT_OK(index);
    o.concurrency = c;
    o.checkpoint_each_flush = true;
    EXPECT_EQ(Import(**index, o).records, uint64_t(kRows));
    auto crash_image = [&](const std::string& name) {
      const auto crash = dir_ / name;
      std::filesystem::create_directories(crash);
      for (const auto& e : std::filesystem::directory_iterator(live))
        if (e.path().filename() != "LOCK")
          std::filesystem::copy(e.path(), crash / e.path().filename());
      featurebase::OpenOptions ro;
      ro.durability = featurebase::Durability::kNone;
      auto reopened = Index::Open(ro, crash.string());
      FB_EXPECT_OK(reopened);
      return reopened.ok() ? Q(**reopened, "Sum(field=n) Count(All())") : "";
    };
    // One thread: exactly the checkpoints the policy asks for. Pipelined,
    // the batches differ (a small first one, a small last one) and the
    // checkpoints run in the background, covering what has landed when
    // they run: some non-empty prefix of the input, whole records only.
    const std::string image = crash_image("crash_a" + std::to_string(c));
    auto prefix = [&](uint64_t m) {
      return "{\"results\":[" + sum_of(m) + "," + std::to_string(m) + "]}";
    };
    if (c == 1) {
      EXPECT_EQ(image, prefix(durable));
    } else {
      bool matched = false;
      for (uint64_t m = 1; m <= uint64_t(kRows) && !matched; ++m)
        matched = image == prefix(m);
      EXPECT_TRUE(matched) << image << ": want a non-empty prefix";
    }
    FB_ASSERT_OK((*index)->Sync());
    EXPECT_EQ(
        crash_image("crash_b" + std::to_string(c)),
        "{\"results\":[" + sum_of(kRows) + "," + std::to_string(kRows) + "]}");
    EXPECT_EQ(Q(**index, pql), want);
  }
  EXPECT_NE(want.find(sum_of(kRows)), std::string::npos) << want;
}

// The converter reuses the record's vectors and strings from row to row:
// each row converted into one long-lived Record must equal the same row
// converted into a fresh one (seeded random rows, cells often empty, arrays
// growing and shrinking, some rows bad).
TEST(RowConverterTest, ReusedRecordEqualsFreshRecord) {
  const std::vector<std::string> header = {
      "id__ID",        "name__String_T", "tags__StringArray",
      "nums__IDArray", "n__Int_0_100",   "amt__Decimal_2",
      "ok__Bool",      "at__Timestamp",  "t__RecordTime"};
  for (const IdOptions::Mode mode :
       {IdOptions::Mode::kAutoGenerate, IdOptions::Mode::kIdField,
        IdOptions::Mode::kPrimaryKey}) {
    IdOptions ids;
    ids.mode = mode;
    ids.id_field = "id";
    ids.primary_key_fields = {"name", "n"};
    auto specs = ParseHeader(header);
    FB_ASSERT_OK(specs);
    auto converter = RowConverter::Create(*specs, ids);
    FB_ASSERT_OK(converter);
    const uint32_t seed = 20240611 + uint32_t(mode);
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return int(rng() % uint32_t(n)); };
    auto list = [&](const char* prefix) {
      std::string out = pick(4) == 0 ? "[" : "";
      const bool bracket = !out.empty();
      const int n = pick(5);
      for (int k = 0; k < n; ++k)
        out += (k ? "," : "") + std::string(prefix) + std::to_string(pick(30));
      return bracket ? out + "]" : out;
    };
    std::string text;
    for (int r = 0; r < 2000; ++r) {
      std::vector<std::string> cells = {
          std::to_string(pick(1000)),
          pick(3) ? "k" + std::string(size_t(pick(40)), 'x') : "",
          pick(3) ? "\"" + list("t") + "\"" : "",
          pick(3) ? "\"" + list("") + "\"" : "",
          pick(3) ? std::to_string(pick(110)) : "",
          pick(3) ? std::to_string(pick(10000)) + ".5" : "",
          pick(3) ? "true" : (pick(2) ? "0" : ""),
          pick(3) ? "2021-02-03T04:05:06Z" : "",
          pick(3) ? "2020-01-0" + std::to_string(1 + pick(9)) + "T00:00:00Z"
                  : ""};
      if (pick(50) == 0) cells[pick(9)] = "bad";
      for (size_t i = 0; i < cells.size(); ++i)
        text += (i ? "," : "") + cells[i];
      text += '\n';
    }
    std::vector<char> buf(text.begin(), text.end());
    buf.resize(text.size() + 64);
    RowBlock block;
    uint64_t line = 1;
    ASSERT_EQ(ParseCsv(buf.data(), text.size(), true, &line, &block),
              text.size());
    ASSERT_EQ(block.rows.size(), 2000u);
    featurebase::Record reused;
    std::string reused_error, fresh_error;
    for (const CsvRow& row : block.rows) {
      featurebase::Record fresh;
      const bool ok_reused =
          converter->Convert(block, row, &reused, &reused_error);
      const bool ok_fresh =
          converter->Convert(block, row, &fresh, &fresh_error);
      ASSERT_EQ(ok_reused, ok_fresh) << "seed " << seed << " line " << row.line;
      if (!ok_fresh) {
        EXPECT_EQ(reused_error, fresh_error) << "seed " << seed;
        continue;
      }
      EXPECT_EQ(reused.id, fresh.id) << "seed " << seed << " line " << row.line;
      EXPECT_EQ(reused.values, fresh.values)
          << "seed " << seed << " line " << row.line;
      EXPECT_EQ(reused.time, fresh.time)
          << "seed " << seed << " line " << row.line;
    }
  }
}

}  // namespace
}  // namespace fbc
