// Golden tests of the fbc binary: each runs commands in a fresh temporary
// data directory and compares stdout (exact JSON, written by hand from the
// command contract), exit codes and stderr. Several invocations in a row
// check that state persists across processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

class FbcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fbc_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'')
        out += "'\\''";
      else
        out += c;
    }
    return out + "'";
  }
  std::string Path(const std::string& name) const {
    return (dir_ / name).string();
  }
  std::string ReadFile(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(Path(name), std::ios::binary) << text;
    return Path(name);
  }
  // Runs fbc --data-dir <tmp>/data args... (stdin from /dev/null).
  Outcome Fbc(const std::vector<std::string>& args, bool data_dir = true) {
    std::string cmd =
        std::string("cd ") + Quote(dir_.string()) + " && " + Quote(FBC_BINARY);
    if (data_dir) cmd += " --data-dir " + Quote(Path("data"));
    for (const auto& a : args) cmd += " " + Quote(a);
    cmd += " </dev/null >" + Quote(Path("out")) + " 2>" + Quote(Path("err"));
    const int st = std::system(cmd.c_str());
    Outcome r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadFile(Path("out"));
    r.err = ReadFile(Path("err"));
    return r;
  }
  // Runs a command that must succeed and returns its stdout.
  std::string Ok(const std::vector<std::string>& args) {
    const Outcome r = Fbc(args);
    EXPECT_EQ(r.code, 0) << args[0] << ": " << r.err;
    return r.out;
  }

  std::filesystem::path dir_;
};

TEST_F(FbcTest, ArgumentErrorsPrintUsageAndExitTwo) {
  Outcome r = Fbc({});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(StartsWith, r.err, "fbc: no command\nusage: fbc");
  r = Fbc({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(StartsWith, r.err, "fbc: unknown command \"frobnicate\"");
  r = Fbc({"query", "t"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(StartsWith, r.err, "fbc: query takes INDEX 'PQL'\nu");
  r = Fbc({"create-field", "t", "f", "--type", "set", "--min", "3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(StartsWith, r.err,
               "fbc: --min applies to int and decimal fields, not se");
  r = Fbc({"create-field", "t", "f", "--type", "timestamp", "--time-unit",
           "m"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(StartsWith, r.err,
               "fbc: --time-unit takes s, ms, us or ns, got \"m\"\nusage");
  r = Fbc({"gen-taxi", "--rows", "ten", "x.csv"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(
      StartsWith, r.err,
      "fbc: --rows takes an integer in [0, 1099511627776], got \"ten\"\nusa");
  r = Fbc({"import-csv", "t", "a.csv", "--auto-generate", "--id-field", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_PRED2(
      StartsWith, r.err,
      "fbc: --primary-key-fields, --id-field and --auto-generate exclude "
      "each other\nusage: fbc");
  r = Fbc({"--data-dir"}, false);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
}

TEST_F(FbcTest, CreateIndexFieldsQueryAndSchemaAcrossInvocations) {
  EXPECT_EQ(Ok({"create-index", "people"}), "{\"success\":true}\n");
  const Outcome again = Fbc({"create-index", "people"});
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.out, "{\"error\":\"index already exists: people\"}\n");
  EXPECT_EQ(again.err, "fbc: index already exists: people\n");
  EXPECT_EQ(Ok({"create-field", "people", "age", "--type", "int", "--min", "0",
                "--max", "120"}),
            "{\"success\":true}\n");
  Ok({"create-field", "people", "city", "--type", "mutex", "--keys"});
  Ok({"create-field", "people", "likes"});
  Ok({"create-field", "people", "seen", "--type", "time", "--time-quantum",
      "YMD", "--ttl", "24h"});
  Ok({"create-field", "people", "price", "--type", "decimal", "--scale", "2",
      "--min", "-1.5", "--max", "100"});
  Ok({"create-field", "people", "born", "--type", "timestamp", "--time-unit",
      "ms", "--epoch", "2000-01-01T00:00:00Z"});
  Ok({"create-field", "people", "vip", "--type", "bool"});
  EXPECT_EQ(Ok({"query", "people",
                "Set(1, city=\"paris\") Set(2, likes=7) Set(3, likes=7) "
                "Set(2, vip=true)"}),
            "{\"results\":[true,true,true,true]}\n");
  EXPECT_EQ(Ok({"query", "people",
                "Row(city=\"paris\") Count(Row(likes=7)) Row(vip=true) "
                "Count(All())"}),
            "{\"results\":[{\"columns\":[1]},2,{\"columns\":[2]},3]}\n");
  EXPECT_EQ(
      Ok({"schema", "people"}),
      "{\"indexes\":[{\"name\":\"people\",\"options\":{\"keys\":false,"
      "\"trackExistence\":true},\"shardWidth\":1048576,\"fields\":["
      "{\"name\":\"age\",\"options\":{\"type\":\"int\",\"min\":0,"
      "\"max\":120}},"
      "{\"name\":\"born\",\"options\":{\"type\":\"timestamp\","
      "\"epoch\":\"2000-01-01T00:00:00Z\",\"timeUnit\":\"ms\"}},"
      "{\"name\":\"city\",\"options\":{\"type\":\"mutex\",\"keys\":true}},"
      "{\"name\":\"likes\",\"options\":{\"type\":\"set\",\"keys\":false}},"
      "{\"name\":\"price\",\"options\":{\"type\":\"decimal\",\"scale\":2,"
      "\"min\":-1.50,\"max\":100.00}},"
      "{\"name\":\"seen\",\"options\":{\"type\":\"time\",\"keys\":false,"
      "\"timeQuantum\":\"YMD\",\"noStandardView\":false,\"ttl\":\"24h\"}},"
      "{\"name\":\"vip\",\"options\":{\"type\":\"bool\"}}]}]}\n");
  Ok({"create-index", "keyed", "--keys", "--partitions", "16",
      "--no-track-existence"});
  EXPECT_PRED2(StartsWith, Ok({"schema"}), "{\"indexes\":[{\"");
  EXPECT_NE(Ok({"schema"})
                .find("{\"name\":\"keyed\",\"options\":{\"keys\":true,"
                      "\"trackExistence\":false,\"partitions\":16},"
                      "\"shardWidth\":1048576,\"fields\":[]}"),
            std::string::npos);
}

// Times print with four-digit years (absl's %Y printed "50-01-01"), so the
// schema and results read back through the importer and PQL.
TEST_F(FbcTest, EarlyYearsPrintAsRfc3339AndReadBack) {
  Ok({"create-index", "old"});
  Ok({"create-field", "old", "at", "--type", "timestamp", "--epoch",
      "0050-01-01T00:00:00Z"});
  EXPECT_NE(Ok({"schema", "old"}).find("\"epoch\":\"0050-01-01T00:00:00Z\""),
            std::string::npos);
  EXPECT_EQ(Ok({"query", "old", "Set(1, at=\"0999-12-31T23:59:59Z\")"}),
            "{\"results\":[true]}\n");
  EXPECT_EQ(Ok({"query", "old", "Min(field=at)"}),
            "{\"results\":[{\"value\":\"0999-12-31T23:59:59Z\","
            "\"count\":1}]}\n");
}

TEST_F(FbcTest, QueryErrorsAreJsonOnStdoutAndOneLineOnStderr) {
  Ok({"create-index", "t"});
  Outcome r = Fbc({"query", "t", "Row(nope=1)"});
  EXPECT_EQ(r.code, 1);
  EXPECT_PRED2(StartsWith, r.out, "{\"error\":\"");
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_PRED2(StartsWith, r.err, "fbc: ");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = Fbc({"query", "missing", "Count(All())"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"error\":\"index not found: missing\"}\n");
  r = Fbc({"query", "t", "Count(All())", "--time"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "{\"results\":[0]}\n");
  EXPECT_THAT(r.err, MatchesRegex("time_ms=[0-9]+\\.[0-9]+\n"));
}

const char kPeople[] =
    "id__ID,name__String_T,tags__StringArray,age__Int_0_150,score__Decimal_1,"
    "vip__Bool,t__RecordTime,visits__String_F_YM\n"
    "10,ann,\"x,y\",31,7.5,true,2021-03-04T05:06:07Z,home\n"
    "11,\"bo, jr\",,45,-1.0,false,2021-04-01T00:00:00Z,home\n"
    "12,cy,[y],200,,,,\n"
    "13,dee,x,,2.25,,,\n"
    "14,eve,\"\",20,,t,,work\n";

TEST_F(FbcTest, ImportCsvSummaryRejectsAndQueriesInLaterInvocations) {
  const std::string csv = Write("people.csv", kPeople);
  const Outcome r =
      Fbc({"import-csv", "people", csv, "--id-field", "id", "--rejects",
           Path("rejects.txt"), "--batch-size", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("\\{\"records\":3,\"rejected\":2,"
                                  "\"seconds\":[0-9]+\\.[0-9]{3}\\}\n"));
  EXPECT_EQ(ReadFile(Path("rejects.txt")),
            csv + ":4: column 4 \"age\": \"200\" is out of range [0, 150]\n" +
                csv +
                ":5: column 5 \"score\": \"2.25\" is not a decimal with at "
                "most 1 fraction digits\n");
  EXPECT_EQ(Ok({"query", "people",
                "Row(name=\"bo, jr\") Count(Row(tags=\"x\")) Sum(field=age) "
                "Sum(field=score) Row(vip=true) "
                "Row(visits=\"home\", from=\"2021-03-01T00:00\", "
                "to=\"2021-04-01T00:00\") Count(All())"}),
            "{\"results\":[{\"columns\":[11]},1,{\"value\":96,\"count\":3},"
            "{\"value\":6.5,\"count\":2},{\"columns\":[10,14]},"
            "{\"columns\":[10]},3]}\n");
  // A second import of the same file: same records, values unchanged.
  const Outcome again = Fbc({"import-csv", "people", csv, "--id-field", "id",
                             "--rejects", Path("rejects2.txt")});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(Ok({"query", "people", "Count(All()) Sum(field=age)"}),
            "{\"results\":[3,{\"value\":96,\"count\":3}]}\n");
}

TEST_F(FbcTest, ProgressIsPlainLinesWhenStderrIsNotATerminal) {
  const std::string csv = Write("a.csv", "v__Int\n1\n2\nx\n");
  const Outcome r =
      Fbc({"import-csv", "nums", csv, "--progress-interval", "0"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  EXPECT_THAT(r.err, ContainsRegex("(^|\n)progress: 3 records, [0-9.]+[KMG]? "
                                   "records/s, 100%\n"));
  EXPECT_THAT(r.err,
              HasSubstr("rejected " + csv +
                        ":4: column 1 \"v\": \"x\" is not an integer\n"));
  EXPECT_THAT(
      r.err, ContainsRegex("\nimport: 2 records, 1 rejected in [0-9.]+ s \\("));
}

TEST_F(FbcTest, BadHeaderIsAnErrorNamingTheFileAndColumn) {
  const std::string csv = Write("bad.csv", "a__ID,b__Nope\n1,2\n");
  const Outcome r = Fbc({"import-csv", "t", csv});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"error\":\"" + csv +
                       ": header column 2 \\\"b__Nope\\\": unknown type "
                       "\\\"Nope\\\"\"}\n");
}

// Splits a CSV line on commas outside quotes (a naive reference reader for
// gen-taxi's output, which has no newlines inside fields).
std::vector<std::string> NaiveSplit(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

TEST_F(FbcTest, GenTaxiIsDeterministicAndImportsCompletely) {
  ASSERT_EQ(Fbc({"gen-taxi", "--rows", "3000", "--seed", "7", "a.csv"}).code,
            0);
  ASSERT_EQ(Fbc({"gen-taxi", "--rows", "3000", "--seed", "7", "b.csv"}).code,
            0);
  ASSERT_EQ(Fbc({"gen-taxi", "--rows", "3000", "--seed", "8", "c.csv"}).code,
            0);
  ASSERT_EQ(Fbc({"gen-taxi", "--rows", "3000", "--seed", "7", "a.csv.gz"}).code,
            0);
  const std::string a = ReadFile(Path("a.csv"));
  EXPECT_EQ(a, ReadFile(Path("b.csv")));
  EXPECT_NE(a, ReadFile(Path("c.csv")));
  std::istringstream lines(a);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "cab_type__String_T,vendor__String_T,passenger_count__ID_T,"
            "pickup_year__ID_T,pickup_month__ID_T,dist_miles__ID_T,"
            "trip_distance__Decimal_2,total_amount__Decimal_2,"
            "payment_type__ID_T,pickup_zone__String_F_YMD,"
            "dropoff_zone__String_T,tags__StringArray,airport__Bool,"
            "pickup_time__RecordTime");
  // Reference counts from a naive reading of the file.
  int rows = 0, green = 0, airport = 0, zone7 = 0, march2013_zone0 = 0;
  while (std::getline(lines, line)) {
    const auto f = NaiveSplit(line);
    ASSERT_EQ(f.size(), 14u) << line;
    ++rows;
    green += f[0] == "green";
    airport += f[12] == "true";
    zone7 += f[10] == "zone-7, \"east\"";
    march2013_zone0 += f[9] == "zone-0" && f[13].compare(0, 7, "2013-03") == 0;
  }
  EXPECT_EQ(rows, 3000);
  EXPECT_GT(zone7, 0);  // the quoted zone names occur
  const Outcome r = Fbc({"import-csv", "taxi", Path("a.csv.gz")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_PRED2(StartsWith, r.out, "{\"records\":3000,\"rejected\":0,\"se");
  EXPECT_EQ(Ok({"query", "taxi",
                "Count(All()) Count(Row(cab_type=\"green\")) "
                "Count(Row(airport=true)) "
                "Count(Row(dropoff_zone=\"zone-7, \\\"east\\\"\")) "
                "Count(Row(pickup_zone=\"zone-0\", from=\"2013-03-01T00:00\", "
                "to=\"2013-04-01T00:00\"))"}),
            "{\"results\":[3000," + std::to_string(green) + "," +
                std::to_string(airport) + "," + std::to_string(zone7) + "," +
                std::to_string(march2013_zone0) + "]}\n");
}

TEST_F(FbcTest, DemoRunsTheTaxiQueries) {
  const Outcome r = Fbc({"demo", "--rows", "5000"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want :
       {"import-csv: {\"records\":5000,\"rejected\":0,",
        "Q1 trips per cab type", "Q2 ", "Q3 ", "Q4 ", "  TopN(cab_type)\n"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(r.out.find("\"error\""), std::string::npos) << r.out;
}

TEST_F(FbcTest, PrimaryKeyFieldsGivenTwiceAreRefusedUpFront) {
  const std::string csv = Write("pk.csv", "k__String,v__Int\na,1\nb,2\n");
  const Outcome r = Fbc({"import-csv", "t", csv, "--primary-key-fields", "k,k",
                         "--rejects", Path("rejects.txt")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "{\"error\":\"--primary-key-fields: \\\"k\\\" given twice (parts "
            "1 and 2)\"}\n");
  EXPECT_EQ(ReadFile(Path("rejects.txt")), "");
}

TEST_F(FbcTest, PrimaryKeyPartsWithTheSeparatorGoToTheRejectsFile) {
  const std::string csv =
      Write("pk.csv", "k1__String,k2__String,v__Int\na|b,c,1\na,b|c,2\n");
  const Outcome r = Fbc({"import-csv", "t", csv, "--primary-key-fields",
                         "k1,k2", "--rejects", Path("rejects.txt")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("{\"records\":0,\"rejected\":2,"));
  EXPECT_EQ(ReadFile(Path("rejects.txt")),
            csv +
                ":2: column 1 \"k1\": \"a|b\" contains the primary key "
                "separator '|' at byte 2\n" +
                csv +
                ":3: column 2 \"k2\": \"b|c\" contains the primary key "
                "separator '|' at byte 2\n");
}

TEST_F(FbcTest, SchemaSkipsASymlinkLoopInTheDataDir) {
  Ok({"create-index", "people"});
  const std::string before = Ok({"schema"});
  EXPECT_THAT(before,
              ::testing::StartsWith("{\"indexes\":[{\"name\":\"people\""));
  std::filesystem::create_symlink(Path("data/loop"), Path("data/loop"));
  const Outcome r = Fbc({"schema"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, before);
  EXPECT_EQ(r.err, "fbc: schema: skipping " + Path("data/loop") +
                       ": Too many levels of symbolic links\n");
}

TEST_F(FbcTest, ADataDirThatIsARegularFileIsNamed) {
  Write("data", "not a directory\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"schema"},
        std::vector<std::string>{"create-index", "t"},
        std::vector<std::string>{"query", "t", "Count(All())"}}) {
    const Outcome r = Fbc(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_EQ(r.out, "{\"error\":\"data dir " + Path("data") +
                         " is a regular file, not a directory\"}\n")
        << args[0];
  }
}

TEST_F(FbcTest, AFailedImportReportsWhatItCommitted) {
  const std::string good = Write("a.csv", "v__Int\n1\n2\n3\n");
  const std::string bad = Write("b.csv", "v__Nope\n4\n");
  const Outcome r = Fbc({"import-csv", "nums", good, bad, "--batch-size", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "{\"error\":\"" + bad +
                ": header column 1 \\\"v__Nope\\\": unknown type "
                "\\\"Nope\\\"\",\"committed\":{\"records\":3,\"file\":\"" +
                good + "\",\"line\":4}}\n");
  EXPECT_THAT(r.err, HasSubstr("fbc: " + bad +
                               ": header column 1 \"v__Nope\": unknown type "
                               "\"Nope\" (committed 3 records, up to " +
                               good + ":4)\n"));
  // What it reported is on disk.
  EXPECT_EQ(Ok({"query", "nums", "Count(All()) Sum(field=v)"}),
            "{\"results\":[3,{\"value\":6,\"count\":3}]}\n");
}

TEST_F(FbcTest, AByteOrderMarkStartingEachFileIsStripped) {
  const std::string a = Write("a.csv",
                              "\xEF\xBB\xBF"
                              "v__Int,k__String\n1,x\n");
  const std::string b = Write("b.csv",
                              "\xEF\xBB\xBF"
                              "v__Int,k__String\n2,y\n");
  const Outcome r = Fbc({"import-csv", "t", a, b});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("{\"records\":2,\"rejected\":0,"));
  EXPECT_EQ(Ok({"query", "t", "Sum(field=v) Count(Row(k=\"y\"))"}),
            "{\"results\":[{\"value\":3,\"count\":2},1]}\n");
}

TEST_F(FbcTest, GenTaxiRefusesASizeLargerThanTheFreeDisk) {
  const Outcome r =
      Fbc({"gen-taxi", "--rows", "1099511627776", Path("huge.csv.gz")});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, MatchesRegex("fbc: gen-taxi: 1099511627776 rows need "
                                  "about [0-9]+ bytes \\([0-9]+ bytes per row "
                                  "gzipped\\), .* has [0-9]+ bytes free\n"));
  EXPECT_FALSE(std::filesystem::exists(Path("huge.csv.gz")));
}

}  // namespace
