// CSV reader: exact rows for RFC 4180 cases, precise errors for malformed
// rows, gzip input, and a seeded differential test (random tables written
// with random quoting and line ends, read back through buffers of random
// sizes, compared with the table).
#include "examples/fbc/csv_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/util/status_matchers.h"

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

void Append(const RowBlock& block, Parsed* p) {
  for (const CsvRow& r : block.rows) {
    std::vector<std::string> row;
    for (size_t i = 0; i < r.count; ++i) row.emplace_back(block.field(r, i));
    p->rows.push_back(std::move(row));
    p->lines.push_back(r.line);
    p->errors.push_back(r.error);
  }
}

// Which reader reads: CsvReader, or ReadAheadCsvReader on the caller's
// thread or on its own.
enum class Via { kReader, kReadAhead, kReadAheadThreaded };

Parsed ReadAll(std::unique_ptr<ByteSource> src, size_t buffer,
               Via via = Via::kReader) {
  Parsed p;
  if (via != Via::kReader) {
    ReadAheadCsvReader reader(std::move(src), buffer,
                              via == Via::kReadAheadThreaded);
    while (true) {
      auto block = reader.Next();
      FB_EXPECT_OK(block);
      if (!block.ok() || *block == nullptr) break;
      Append(**block, &p);
    }
    return p;
  }
  CsvReader reader(std::move(src), buffer);
  RowBlock block;
  while (true) {
    auto more = reader.Next(&block);
    FB_EXPECT_OK(more);
    if (!more.ok() || !*more) break;
    Append(block, &p);
  }
  return p;
}

Parsed Read(const std::string& text, size_t buffer = 1 << 16,
            size_t chunk = 1 << 20, Via via = Via::kReader) {
  return ReadAll(std::make_unique<StringSource>(text, chunk), buffer, via);
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
    for (Via via : {Via::kReader, Via::kReadAhead, Via::kReadAheadThreaded}) {
      SCOPED_TRACE("reader " + std::to_string(int(via)));
      const Parsed p = Read(text, buffer, chunk, via);
      ASSERT_EQ(p.rows, table)
          << "seed " << seed << " buffer " << buffer << " chunk " << chunk;
      ASSERT_EQ(p.lines, lines) << "seed " << seed;
      for (const std::string& e : p.errors) ASSERT_EQ(e, "") << "seed " << seed;
    }
  }
}

// CsvReader keeps a block's fields for kBuffers - 1 more calls (what lets
// ReadAheadCsvReader parse ahead of its caller): each block is compared,
// that many calls later, with a copy taken when it was filled.
TEST(CsvReaderTest, BlocksStayValidForTheNextCalls) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    std::string text;
    for (int r = 0; r < 300; ++r) {
      text += std::to_string(rng() % 100000) + ",\"x\"\"" +
              std::string(rng() % 30, 'a' + r % 26) + "\"\n";
    }
    CsvReader reader(std::make_unique<StringSource>(text, 1 + rng() % 200),
                     1 + rng() % 300);
    constexpr int kKept = CsvReader::kBuffers;
    RowBlock blocks[kKept];
    Parsed copies[kKept];
    Parsed all;
    for (int call = 0;; ++call) {
      RowBlock& b = blocks[call % kKept];
      auto more = reader.Next(&b);
      FB_ASSERT_OK(more);
      // Every block still held (the last kBuffers - 1) reads as filled.
      for (int back = 1; back < kKept && back <= call; ++back) {
        const int k = (call - back) % kKept;
        Parsed now;
        Append(blocks[k], &now);
        ASSERT_EQ(now.rows, copies[k].rows)
            << "seed " << seed << " call " << call << ", block of call "
            << call - back;
      }
      if (!*more) break;
      copies[call % kKept] = Parsed{};
      Append(b, &copies[call % kKept]);
      Append(b, &all);
    }
    ASSERT_EQ(all.rows.size(), 300u) << "seed " << seed;
  }
}

// Fails its reads once `limit` bytes have been handed out.
class FailingSource : public StringSource {
 public:
  FailingSource(std::string data, size_t chunk, size_t limit)
      : StringSource(std::move(data), chunk), limit_(limit) {}
  featurebase::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (file_offset() >= limit_)
      return absl::DataLossError("read test.csv: disk on fire");
    return StringSource::Read(buf, std::min(n, limit_ - file_offset()));
  }

 private:
  size_t limit_;
};

TEST(ReadAheadCsvReaderTest, ReadErrorsComeAfterTheRowsBeforeThemAndStick) {
  std::string text;
  for (int r = 0; r < 2000; ++r) text += std::to_string(r) + ",v\n";
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "caller's thread");
    ReadAheadCsvReader reader(
        std::make_unique<FailingSource>(text, 100, text.size() / 2), 256,
        threaded);
    size_t rows = 0;
    featurebase::Status error;
    while (true) {
      auto block = reader.Next();
      if (!block.ok()) {
        error = block.status();
        break;
      }
      ASSERT_NE(*block, nullptr) << "end of input before the read error";
      for (const CsvRow& r : (*block)->rows) {
        ASSERT_EQ((*block)->field(r, 0), std::to_string(rows));
        ++rows;
      }
    }
    EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(error.message(), "read test.csv: disk on fire");
    // Every complete row before the failed read, in order, and no other.
    const size_t limit = text.size() / 2;
    const size_t complete =
        std::count(text.begin(), text.begin() + limit, '\n');
    EXPECT_EQ(rows, complete);
    auto again = reader.Next();
    FB_ASSERT_OK(again);
    EXPECT_EQ(*again, nullptr);
  }
}

// Counts the bytes it hands out in a counter that outlives it.
class CountingSource : public StringSource {
 public:
  CountingSource(std::string data, size_t chunk,
                 std::shared_ptr<std::atomic<uint64_t>> read)
      : StringSource(std::move(data), chunk), read_(std::move(read)) {}
  featurebase::StatusOr<size_t> Read(char* buf, size_t n) override {
    auto r = StringSource::Read(buf, n);
    if (r.ok()) *read_ += *r;
    return r;
  }

 private:
  std::shared_ptr<std::atomic<uint64_t>> read_;
};

// Dropped mid-file while its thread parses ahead: the thread stops within
// the blocks it may run ahead, rather than reading on to the end.
TEST(ReadAheadCsvReaderTest, DestroyedMidFileStopsItsThread) {
  std::string text;
  for (int r = 0; r < 100000; ++r) text += std::to_string(r) + ",v\n";
  constexpr size_t kBuffer = 4096;
  for (int taken = 0; taken < 4; ++taken) {
    auto read = std::make_shared<std::atomic<uint64_t>>(0);
    {
      ReadAheadCsvReader reader(
          std::make_unique<CountingSource>(text, 1000, read), kBuffer, true);
      for (int i = 0; i < taken; ++i) {
        auto block = reader.Next();
        FB_ASSERT_OK(block);
        ASSERT_NE(*block, nullptr);
      }
    }
    // Each block reads at most two buffers' worth (a partial record plus
    // a read); the thread fills at most two blocks past those taken.
    EXPECT_LE(read->load(), uint64_t(taken + 2) * 2 * (kBuffer + 1000))
        << "taken " << taken;
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
  FB_ASSERT_OK(src);
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
  FB_ASSERT_OK(src);
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

// A gzip member holding `text`.
std::string GzipMember(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(
      deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&zs, uLong(text.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = uInt(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Reads a whole file through OpenByteSource and a CsvReader: the rows, or
// the first error.
featurebase::StatusOr<Rows> ReadFile(const std::string& path, size_t buffer) {
  auto src = OpenByteSource(path);
  if (!src.ok()) return src.status();
  CsvReader reader(*std::move(src), buffer);
  RowBlock block;
  Parsed p;
  while (true) {
    auto more = reader.Next(&block);
    if (!more.ok()) return more.status();
    if (!*more) break;
    Append(block, &p);
  }
  return p.rows;
}

TEST(CsvReaderTest, ConcatenatedGzipMembersAreOneStream) {
  const std::string path = TempPath("members.csv.gz");
  std::string text;
  Rows want;
  std::string bytes;
  for (int m = 0; m < 3; ++m) {
    std::string part;
    for (int i = 0; i < 2000; ++i) {
      const std::string a = std::to_string(m * 2000 + i);
      part += a + ",x" + a + "\n";
      want.push_back({a, "x" + a});
    }
    bytes += GzipMember(part);
  }
  std::ofstream(path, std::ios::binary) << bytes;
  for (size_t buffer : {size_t{64}, size_t{4096}, size_t{1} << 20}) {
    auto rows = ReadFile(path, buffer);
    FB_ASSERT_OK(rows);
    EXPECT_EQ(*rows, want) << "buffer " << buffer;
  }
  std::remove(path.c_str());
}

TEST(CsvReaderTest, TrailingGarbageAfterAGzipMemberIsDataLossNamingTheFile) {
  const std::string path = TempPath("garbage.csv.gz");
  const std::string member = GzipMember("1,a\n2,b\n");
  for (const std::string& tail :
       {std::string("x"), std::string("garbage\n"), std::string(100, '\0'),
        std::string("\x1f"), std::string("\x1f\x00", 2)}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << member + tail;
    auto rows = ReadFile(path, 4096);
    ASSERT_FALSE(rows.ok()) << "tail of " << tail.size() << " bytes";
    EXPECT_EQ(rows.status(),
              absl::DataLossError("gunzip " + path +
                                  ": trailing garbage after gzip member at "
                                  "byte offset " +
                                  std::to_string(member.size())));
  }
  std::remove(path.c_str());
}

TEST(CsvReaderTest, AUtf8ByteOrderMarkAtTheStartIsSkipped) {
  // Through sources handing out one byte at a time and all at once, plain
  // and gzipped: the mark is never part of the first field.
  const std::string text =
      "\xEF\xBB\xBF"
      "a__ID,b\n1,\xEF\xBB\xBF\n";
  const Rows want = {{"a__ID", "b"}, {"1", "\xEF\xBB\xBF"}};
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{1} << 20})
    EXPECT_EQ(Read(text, 1 << 16, chunk).rows, want) << "chunk " << chunk;
  EXPECT_EQ(Read("\xEF\xBB").rows, (Rows{{"\xEF\xBB"}}));
  EXPECT_EQ(Read("\xEF\xBB\xBF").rows, Rows{});
  const std::string plain = TempPath("bom.csv");
  std::ofstream(plain, std::ios::binary) << text;
  auto rows = ReadFile(plain, 4096);
  FB_ASSERT_OK(rows);
  EXPECT_EQ(*rows, want);
  const std::string gz = TempPath("bom.csv.gz");
  std::ofstream(gz, std::ios::binary) << GzipMember(text);
  rows = ReadFile(gz, 4096);
  FB_ASSERT_OK(rows);
  EXPECT_EQ(*rows, want);
  std::remove(plain.c_str());
  std::remove(gz.c_str());
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
