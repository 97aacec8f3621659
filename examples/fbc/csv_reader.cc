#include "examples/fbc/csv_reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fbc {
namespace {

// Finds the structural bytes (',', '"', '\n', '\r') 64 bytes at a time as a
// bit mask, so that the parser jumps from one to the next instead of looking
// at every byte: fields are short (a few bytes) in typical CSV, and a
// memchr per delimiter kind would rescan them four times.
class StructuralScanner {
 public:
  StructuralScanner(const char* data, size_t size) : data_(data), size_(size) {
    Load(0);
  }

  // The position of the first structural byte at or after `from`, or size.
  size_t Next(size_t from) {
    if (from >= size_) return size_;
    size_t block = from & ~size_t{63};
    if (block != block_) Load(block);
    uint64_t m = mask_ & (~uint64_t{0} << (from & 63));
    while (m == 0) {
      block += 64;
      if (block >= size_) return size_;
      Load(block);
      m = mask_;
    }
    const size_t pos = block + size_t(__builtin_ctzll(m));
    return pos < size_ ? pos : size_;
  }

 private:
  void Load(size_t block) {
    block_ = block;
    const char* p = data_ + block;
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(',');
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i nl = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    uint64_t m = 0;
    for (int i = 0; i < 4; ++i) {
      const __m128i v =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i hit = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, quote)),
          _mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, cr)));
      m |= uint64_t(uint32_t(_mm_movemask_epi8(hit)) & 0xffff) << (16 * i);
    }
#else
    uint64_t m = 0;
    for (int i = 0; i < 64; ++i) {
      const char c = p[i];
      if (c == ',' || c == '"' || c == '\n' || c == '\r') m |= uint64_t{1} << i;
    }
#endif
    mask_ = m;
  }

  const char* data_;
  size_t size_;
  size_t block_ = ~size_t{0};
  uint64_t mask_ = 0;
};

// Removes the doubled quotes of a quoted field's contents in place.
size_t Unescape(char* s, size_t n) {
  size_t w = 0;
  for (size_t r = 0; r < n; ++r) {
    s[w++] = s[r];
    if (s[r] == '"' && r + 1 < n && s[r + 1] == '"') ++r;
  }
  return w;
}

}  // namespace

size_t ParseCsv(char* data, size_t size, bool eof, uint64_t* line,
                RowBlock* out) {
  StructuralScanner scan(data, size);
  size_t pos = 0;
  uint64_t cur_line = *line;
  // Fields of the row in progress needing unescaping (positions in fields).
  std::vector<uint32_t> escaped;
  while (pos < size) {
    const size_t row_start = pos;
    // Empty lines are skipped, as Go's encoding/csv (FeatureBase) does.
    if (data[pos] == '\n') {
      ++pos;
      ++cur_line;
      continue;
    }
    if (data[pos] == '\r') {
      if (pos + 1 >= size && !eof) break;
      if (pos + 1 < size && data[pos + 1] == '\n') {
        pos += 2;
        ++cur_line;
        continue;
      }
    }
    const size_t field_base = out->fields.size();
    escaped.clear();
    std::string error;
    uint64_t newlines = 0;  // inside quoted fields of this row
    bool complete = false;
    size_t next = pos;
    while (true) {  // one field per iteration
      const size_t field_no = out->fields.size() - field_base + 1;
      size_t end = 0;  // one past the field's last content byte
      size_t start = pos;
      bool quoted = false;
      if (pos < size && data[pos] == '"') {
        quoted = true;
        size_t q = pos + 1;
        bool has_escape = false;
        size_t close = size;
        while (true) {
          size_t s = scan.Next(q);
          while (s < size && data[s] != '"') {
            if (data[s] == '\n') ++newlines;
            s = scan.Next(s + 1);
          }
          if (s >= size) break;  // no closing quote yet
          if (s + 1 >= size && !eof) break;
          if (s + 1 < size && data[s + 1] == '"') {
            has_escape = true;
            q = s + 2;
            continue;
          }
          close = s;
          break;
        }
        if (close == size) {
          if (!eof) break;  // incomplete row: wait for more input
          // Unterminated at the end of input: the rest is one bad row.
          out->fields.emplace_back(data + pos + 1, size - pos - 1);
          error = "unterminated quoted field " + std::to_string(field_no);
          next = size;
          complete = true;
          break;
        }
        start = pos + 1;
        end = close;
        if (has_escape)
          escaped.push_back(uint32_t(out->fields.size() - field_base));
        pos = close + 1;
      }
      // Unquoted content (or what follows a closing quote) up to the next
      // delimiter or line end.
      size_t s = scan.Next(pos);
      while (true) {
        if (s >= size) break;
        const char c = data[s];
        if (c == ',' || c == '\n') break;
        if (c == '\r') {
          if (s + 1 >= size && !eof) break;
          if (s + 1 >= size || data[s + 1] == '\n') break;
        } else if (c == '"' && error.empty()) {
          error = quoted ? "extraneous quote after quoted field " +
                               std::to_string(field_no)
                         : "bare quote in unquoted field " +
                               std::to_string(field_no);
        }
        s = scan.Next(s + 1);
      }
      if (quoted && s != pos && error.empty())
        error =
            "extraneous text after quoted field " + std::to_string(field_no);
      if (s >= size && !eof) break;  // incomplete
      if (s < size && data[s] == '\r' && s + 1 >= size && !eof) break;
      if (!quoted) end = s;
      out->fields.emplace_back(data + start, end - start);
      if (s >= size) {
        next = size;
        complete = true;
        break;
      }
      if (data[s] == ',') {
        pos = s + 1;
        continue;
      }
      next = (data[s] == '\r' && s + 1 < size) ? s + 2 : s + 1;
      complete = true;
      break;
    }
    if (!complete) {
      out->fields.resize(field_base);
      pos = row_start;
      break;
    }
    for (uint32_t i : escaped) {
      std::string_view& f = out->fields[field_base + i];
      char* p = const_cast<char*>(f.data());
      f = std::string_view(p, Unescape(p, f.size()));
    }
    CsvRow row;
    row.first = uint32_t(field_base);
    row.count = uint32_t(out->fields.size() - field_base);
    row.line = cur_line;
    row.error = std::move(error);
    out->rows.push_back(std::move(row));
    cur_line += 1 + newlines;
    pos = next;
  }
  out->bytes += pos;
  *line = cur_line;
  return pos;
}

// ---------------------------------------------------------------- sources
namespace {

std::string ErrnoMessage(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

featurebase::Status ErrnoStatus(std::string_view what,
                                const std::string& path) {
  switch (errno) {
    case ENOENT:
      return absl::NotFoundError(ErrnoMessage(what, path));
    case EACCES:
      return absl::PermissionDeniedError(ErrnoMessage(what, path));
    default:
      return absl::InvalidArgumentError(ErrnoMessage(what, path));
  }
}

class FileSource : public ByteSource {
 public:
  FileSource(int fd, std::string path, uint64_t size, std::string prefix)
      : fd_(fd), path_(std::move(path)), size_(size), prefix_(prefix) {}
  ~FileSource() override {
    if (fd_ > 0) ::close(fd_);
  }
  featurebase::StatusOr<size_t> Read(char* buf, size_t n) override {
    size_t got = 0;
    if (prefix_pos_ < prefix_.size()) {
      got = std::min(n, prefix_.size() - prefix_pos_);
      std::memcpy(buf, prefix_.data() + prefix_pos_, got);
      prefix_pos_ += got;
      offset_ += got;
      if (got == n) return got;
    }
    while (true) {
      const ssize_t r = ::read(fd_, buf + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("read", path_);
      offset_ += uint64_t(r);
      return got + size_t(r);
    }
  }
  uint64_t file_offset() const override { return offset_; }
  uint64_t file_size() const override { return size_; }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
  std::string prefix_;  // bytes read while sniffing the format
  size_t prefix_pos_ = 0;
  uint64_t offset_ = 0;
};

// Inflates a gzip file member after member (concatenated members are one
// gzip stream, as gzip(1) reads them). Bytes after a member that do not
// start another one are an error: zlib's gzread would drop them silently.
class GzipSource : public ByteSource {
 public:
  GzipSource(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size), in_(kInBytes) {}
  ~GzipSource() override {
    if (initialized_) inflateEnd(&zs_);
    ::close(fd_);
  }
  featurebase::Status Init() {
    zs_ = {};
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      return absl::ResourceExhaustedError("gunzip " + path_ +
                                          ": cannot allocate a stream");
    initialized_ = true;
    return absl::OkStatus();
  }
  featurebase::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (n == 0) return size_t{0};
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = uInt(std::min<size_t>(n, 1u << 30));
    const uInt want = zs_.avail_out;
    while (zs_.avail_out == want && !done_) {
      if (zs_.avail_in == 0) {
        auto got = Fill();
        if (!got.ok()) return got.status();
        if (*got == 0) {
          if (between_members_) {
            done_ = true;
            break;
          }
          return absl::DataLossError("gunzip " + path_ +
                                     ": truncated gzip member at byte offset " +
                                     std::to_string(consumed()));
        }
      }
      if (between_members_) {
        // Another member must start with the gzip magic (1f 8b).
        if (zs_.avail_in < 2) {
          if (zs_.next_in[0] != 0x1f) return Trailing();
          // One byte only: the next one decides.
          const Bytef first = zs_.next_in[0];
          in_[0] = char(first);
          auto got = Fill(1);
          if (!got.ok()) return got.status();
          if (*got == 0) return Trailing();
        }
        if (zs_.next_in[0] != 0x1f || zs_.next_in[1] != 0x8b) return Trailing();
        if (inflateReset(&zs_) != Z_OK)
          return absl::InternalError("gunzip " + path_ + ": inflateReset");
        between_members_ = false;
      }
      const int r = inflate(&zs_, Z_NO_FLUSH);
      if (r == Z_STREAM_END) {
        between_members_ = true;
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        return absl::DataLossError(
            "gunzip " + path_ + ": " + (zs_.msg ? zs_.msg : "corrupt data") +
            " near byte offset " + std::to_string(consumed()));
      }
    }
    return size_t(want - zs_.avail_out);
  }
  uint64_t file_offset() const override { return consumed(); }
  uint64_t file_size() const override { return size_; }

 private:
  static constexpr size_t kInBytes = size_t{1} << 20;

  // Compressed bytes consumed so far.
  uint64_t consumed() const { return read_ - zs_.avail_in; }

  // Reads more compressed bytes into in_ after the first `keep` (already
  // there); the bytes read.
  featurebase::StatusOr<size_t> Fill(size_t keep = 0) {
    while (true) {
      const ssize_t r = ::read(fd_, in_.data() + keep, in_.size() - keep);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoStatus("read", path_);
      read_ += uint64_t(r);
      zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
      zs_.avail_in = uInt(keep + size_t(r));
      return size_t(r);
    }
  }

  featurebase::Status Trailing() const {
    return absl::DataLossError("gunzip " + path_ +
                               ": trailing garbage after gzip member at "
                               "byte offset " +
                               std::to_string(consumed()));
  }

  int fd_;
  std::string path_;
  uint64_t size_;
  std::vector<char> in_;
  z_stream zs_{};
  bool initialized_ = false;
  bool between_members_ = false;  // a member ended; none started since
  bool done_ = false;
  uint64_t read_ = 0;  // compressed bytes read from fd_
};

}  // namespace

featurebase::StatusOr<std::unique_ptr<ByteSource>> OpenByteSource(
    const std::string& path) {
  int fd = path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path);
  uint64_t size = 0;
  const off_t end = ::lseek(fd, 0, SEEK_END);
  const bool seekable = end >= 0 && ::lseek(fd, 0, SEEK_SET) == 0;
  if (seekable) size = uint64_t(end);
  // Sniff the gzip magic (1f 8b).
  char magic[2];
  size_t got = 0;
  while (got < 2) {
    const ssize_t r = ::read(fd, magic + got, 2 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      auto st = ErrnoStatus("read", path);
      ::close(fd);
      return st;
    }
    if (r == 0) break;
    got += size_t(r);
  }
  const bool gzip =
      got == 2 && uint8_t(magic[0]) == 0x1f && uint8_t(magic[1]) == 0x8b;
  if (gzip && seekable) {
    ::lseek(fd, 0, SEEK_SET);
    auto gz = std::make_unique<GzipSource>(fd, path, size);
    if (featurebase::Status s = gz->Init(); !s.ok()) return s;
    return std::unique_ptr<ByteSource>(std::move(gz));
  }
  if (gzip) {
    ::close(fd);
    return absl::InvalidArgumentError("open " + path +
                                      ": gzip input must be a regular file");
  }
  return std::unique_ptr<ByteSource>(
      std::make_unique<FileSource>(fd, path, size, std::string(magic, got)));
}

// ---------------------------------------------------------------- reader
CsvReader::CsvReader(std::unique_ptr<ByteSource> source, size_t buffer_bytes)
    : source_(std::move(source)), read_size_(buffer_bytes) {
  for (Buffer& b : bufs_) b.bytes.resize(64);
}

featurebase::StatusOr<bool> CsvReader::Next(RowBlock* block) {
  block->clear();
  {
    // The blocks handed out by the last kBuffers - 1 calls point into the
    // other buffers: the partial record left in the current one moves to
    // the front of the next, which none of them uses.
    Buffer& from = bufs_[cur_];
    cur_ = (cur_ + 1) % kBuffers;
    Buffer& to = bufs_[cur_];
    const size_t pending = from.end - from.begin;
    if (to.bytes.size() < pending + 64) to.bytes.resize(pending + 64);
    std::memcpy(to.bytes.data(), from.bytes.data() + from.begin, pending);
    std::memset(to.bytes.data() + pending, 0, 64);
    to.begin = 0;
    to.end = pending;
    from.begin = from.end = 0;
  }
  Buffer& b = bufs_[cur_];
  while (true) {
    if (!bom_checked_ && (b.end - b.begin >= 3 || eof_)) {
      // A UTF-8 byte order mark before the first record is not data.
      bom_checked_ = true;
      if (b.end - b.begin >= 3 &&
          std::memcmp(b.bytes.data() + b.begin, "\xEF\xBB\xBF", 3) == 0)
        b.begin += 3;
    }
    if (!bom_checked_) {
      // Fewer than three bytes so far: read on before parsing any.
    } else if (b.begin < b.end || !eof_) {
      const size_t used = ParseCsv(b.bytes.data() + b.begin, b.end - b.begin,
                                   eof_, &line_, block);
      b.begin += used;
      if (!block->rows.empty()) return true;
      if (eof_) {
        b.begin = b.end;  // only skipped empty lines remained
        return false;
      }
    } else {
      return false;
    }
    // Need more input: move the partial record to the front, grow if it
    // fills the buffer, read.
    const size_t pending = b.end - b.begin;
    if (b.begin > 0) {
      std::memmove(b.bytes.data(), b.bytes.data() + b.begin, pending);
      b.begin = 0;
      b.end = pending;
    }
    if (b.bytes.size() - 64 - b.end < std::max<size_t>(read_size_ / 2, 1))
      b.bytes.resize(std::max(b.bytes.size() * 2, b.end + read_size_ + 64));
    const size_t room = b.bytes.size() - 64 - b.end;
    auto n = source_->Read(b.bytes.data() + b.end, room);
    if (!n.ok()) return n.status();
    if (*n == 0) eof_ = true;
    b.end += *n;
    std::memset(b.bytes.data() + b.end, 0, 64);
  }
}

// ------------------------------------------------------------ read-ahead
ReadAheadCsvReader::ReadAheadCsvReader(std::unique_ptr<ByteSource> source,
                                       size_t buffer_bytes, bool threaded)
    : reader_(std::move(source), buffer_bytes) {
  if (threaded) thread_ = std::thread([this] { Run(); });
}

ReadAheadCsvReader::~ReadAheadCsvReader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadAheadCsvReader::Fill(Slot* s) {
  s->more = reader_.Next(&s->block);
  s->offset = reader_.source().file_offset();
}

void ReadAheadCsvReader::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (uint64_t m = 0;; ++m) {
    // Block m reuses the slot (and CsvReader buffer) of block m - kSlots,
    // which the caller has released once it has taken block m - kSlots + 1.
    cv_.wait(l, [&] { return stop_ || m + 1 < consumed_ + kSlots; });
    if (stop_) return;
    Slot& s = slots_[m % kSlots];
    l.unlock();
    Fill(&s);
    l.lock();
    produced_ = m + 1;
    cv_.notify_all();
    if (!s.more.ok() || !*s.more) return;
  }
}

featurebase::StatusOr<const RowBlock*> ReadAheadCsvReader::Next() {
  if (done_) return nullptr;
  Slot* s = &slots_[0];
  if (thread_.joinable()) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return produced_ > consumed_; });
    s = &slots_[consumed_ % kSlots];
    ++consumed_;
    cv_.notify_all();
  } else {
    Fill(s);
  }
  if (!s->more.ok() || !*s->more) {
    done_ = true;
    if (!s->more.ok()) return s->more.status();
    return nullptr;
  }
  offset_ = s->offset;
  return &s->block;
}

}  // namespace fbc
