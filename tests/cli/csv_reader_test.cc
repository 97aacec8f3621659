// CSV reader: exact rows for RFC 4180 cases, precise errors for malformed
// rows, gzip input, and a seeded differential test (random tables written
// with random quoting and line ends, read back through buffers of random
// sizes, compared with the table).
#include "examples/fbc/csv_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace fbc {
namespace {

class StringSource : public ByteSource {
 public:
  // Hands out at most `chunk` bytes per Read, as a pipe would.
  StringSource(std::string data, size_t chunk)
      : data_(std::move(data)), chunk_(chunk) {}
  featurebase::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::min({n, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  uint64_t file_offset() const override { return pos_; }
  uint64_t file_size() const override { return data_.size(); }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

struct Parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> lines;
  std::vector<std::string> errors;
};

Parsed ReadAll(std::unique_ptr<ByteSource> src, size_t buffer) {
  CsvReader reader(std::move(src), buffer);
  Parsed p;
  RowBlock block;
  while (true) {
    auto more = reader.Next(&block);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    for (const CsvRow& r : block.rows) {
      std::vector<std::string> row;
      for (size_t i = 0; i < r.count; ++i) row.emplace_back(block.field(r, i));
      p.rows.push_back(std::move(row));
      p.lines.push_back(r.line);
      p.errors.push_back(r.error);
    }
  }
  return p;
}

Parsed Read(const std::string& text, size_t buffer = 1 << 16,
            size_t chunk = 1 << 20) {
  return ReadAll(std::make_unique<StringSource>(text, chunk), buffer);
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReaderTest, PlainRowsWithAndWithoutFinalNewline) {
  EXPECT_EQ(Read("a,b,c\n1,2,3\n").rows,
            (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(Read("a,b\n1,2").rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Read("").rows, Rows{});
}

TEST(CsvReaderTest, EmptyFieldsAreKept) {
  EXPECT_EQ(Read(",a,,\n").rows, (Rows{{"", "a", "", ""}}));
  EXPECT_EQ(Read("\"\",x\n").rows, (Rows{{"", "x"}}));
}

TEST(CsvReaderTest, QuotedFieldsWithCommasNewlinesAndEscapedQuotes) {
  const Parsed p =
      Read("\"a,b\",\"line1\nline2\",\"say \"\"hi\"\"\"\nnext,row,x\n");
  EXPECT_EQ(p.rows, (Rows{{"a,b", "line1\nline2", "say \"hi\""},
                          {"next", "row", "x"}}));
  // The second row starts on line 3: the first spans two lines.
  EXPECT_EQ(p.lines, (std::vector<uint64_t>{1, 3}));
}

TEST(CsvReaderTest, CrLfLineEndsAndLoneCarriageReturns) {
  EXPECT_EQ(Read("a,b\r\n1,2\r\n").rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Read("a\rb,c\n").rows, (Rows{{"a\rb", "c"}}));
  EXPECT_EQ(Read("\"x\r\ny\",z\r\n").rows, (Rows{{"x\r\ny", "z"}}));
}

TEST(CsvReaderTest, EmptyLinesAreSkippedButCounted) {
  const Parsed p = Read("a\n\n\r\nb\n\n");
  EXPECT_EQ(p.rows, (Rows{{"a"}, {"b"}}));
  EXPECT_EQ(p.lines, (std::vector<uint64_t>{1, 4}));
}

TEST(CsvReaderTest, MalformedRowsCarryAnErrorAndTheNextRowsStillParse) {
  const Parsed p = Read("ok,1\nab\"c,2\n\"q\"x,3\n\"q\" ,4\nfine,5\n");
  ASSERT_EQ(p.rows.size(), 5u);
  EXPECT_EQ(p.errors[0], "");
  EXPECT_EQ(p.errors[1], "bare quote in unquoted field 1");
  EXPECT_EQ(p.errors[2], "extraneous text after quoted field 1");
  EXPECT_EQ(p.errors[3], "extraneous text after quoted field 1");
  EXPECT_EQ(p.errors[4], "");
  EXPECT_EQ(p.rows[4], (std::vector<std::string>{"fine", "5"}));
  EXPECT_EQ(p.lines[4], 5u);
}

TEST(CsvReaderTest, UnterminatedQuoteAtEndOfInputIsOneBadRow) {
  const Parsed p = Read("a,b\nc,\"open\nmore\n");
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.errors[1], "unterminated quoted field 2");
  EXPECT_EQ(p.lines[1], 2u);
}

TEST(CsvReaderTest, RecordsLongerThanTheBufferGrowIt) {
  std::string big(100000, 'x');
  const Parsed p = Read("a," + big + "\n\"" + big + "\",b\n", 1024, 777);
  EXPECT_EQ(p.rows, (Rows{{"a", big}, {big, "b"}}));
}

// A CSV cell: quoted when needed, and at random when not.
std::string Encode(const std::string& v, std::mt19937_64& rng) {
  const bool needs = v.find_first_of(",\"\r\n") != std::string::npos ||
                     v.empty();  // an empty lone field would be an empty line
  if (!needs && rng() % 4 != 0) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

TEST(CsvReaderTest, DifferentialRandomTablesRoundTrip) {
  const char alphabet[] = {'a', 'b', ',', '"', '\n', '\r', ' ', 'z', '9'};
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    const size_t cols = 1 + rng() % 5;
    const size_t nrows = rng() % 40;
    Rows table;
    std::string text;
    uint64_t line = 1;
    std::vector<uint64_t> lines;
    for (size_t r = 0; r < nrows; ++r) {
      std::vector<std::string> row;
      std::string encoded;
      uint64_t newlines = 0;
      for (size_t c = 0; c < cols; ++c) {
        std::string v;
        const size_t len = rng() % 8;
        for (size_t k = 0; k < len; ++k) v += alphabet[rng() % sizeof alphabet];
        // "\r" right before the row's line end is ambiguous in CSV; keep
        // values free of a trailing bare \r.
        if (c + 1 == cols && !v.empty() && v.back() == '\r') v.back() = 'r';
        newlines += std::count(v.begin(), v.end(), '\n');
        if (c > 0) encoded += ',';
        encoded += Encode(v, rng);
        row.push_back(v);
      }
      if (cols == 1 && row[0].empty()) encoded = "\"\"";
      text += encoded;
      text += rng() % 2 ? "\r\n" : "\n";
      table.push_back(row);
      lines.push_back(line);
      line += 1 + newlines;
    }
    // Sometimes no final line end.
    if (!text.empty() && rng() % 3 == 0) {
      text.pop_back();
      if (!text.empty() && text.back() == '\r' && rng() % 2) text.pop_back();
    }
    const size_t buffer = 1 + rng() % 64;
    const size_t chunk = 1 + rng() % 50;
    const Parsed p = Read(text, buffer, chunk);
    ASSERT_EQ(p.rows, table)
        << "seed " << seed << " buffer " << buffer << " chunk " << chunk;
    ASSERT_EQ(p.lines, lines) << "seed " << seed;
    for (const std::string& e : p.errors) ASSERT_EQ(e, "") << "seed " << seed;
  }
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("fbc_csv_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(CsvReaderTest, GzipFilesAreReadTransparently) {
  const std::string path = TempPath("data.csv.gz");
  std::string text;
  for (int i = 0; i < 5000; ++i)
    text += std::to_string(i) + ",\"v," + std::to_string(i * 7) + "\"\n";
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), unsigned(text.size())), int(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  auto src = OpenByteSource(path);
  ASSERT_TRUE(src.ok()) << src.status();
  const Parsed p = ReadAll(*std::move(src), 4096);
  ASSERT_EQ(p.rows.size(), 5000u);
  EXPECT_EQ(p.rows[4999], (std::vector<std::string>{"4999", "v,34993"}));
  std::remove(path.c_str());
}

TEST(CsvReaderTest, TruncatedGzipIsDataLoss) {
  const std::string path = TempPath("trunc.csv.gz");
  std::string text(200000, 'a');
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  gzwrite(gz, text.data(), unsigned(text.size()));
  gzclose(gz);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  auto src = OpenByteSource(path);
  ASSERT_TRUE(src.ok());
  CsvReader reader(*std::move(src), 4096);
  RowBlock block;
  featurebase::Status st;
  while (true) {
    auto more = reader.Next(&block);
    if (!more.ok()) {
      st = more.status();
      break;
    }
    if (!*more) break;
  }
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_NE(std::string(st.message()).find(path), std::string::npos) << st;
  std::remove(path.c_str());
}

TEST(CsvReaderTest, MissingFileIsNotFoundNamingThePath) {
  auto src = OpenByteSource("/nonexistent/x.csv");
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(src.status().message()),
            "open /nonexistent/x.csv: No such file or directory");
}

}  // namespace
}  // namespace fbc
