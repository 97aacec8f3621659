#include "examples/fbc/importer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "examples/fbc/csv_reader.h"
#include "examples/fbc/header.h"
#include "examples/fbc/message.h"
#include "examples/fbc/schema_json.h"
#include "featurebase/batch.h"

namespace fbc {
namespace {

using featurebase::Batch;
using featurebase::Status;
using featurebase::StatusOr;

// Writes rejected rows to a file, or the first few to the log.
class Rejects {
 public:
  static constexpr int kLogged = 10;
  Rejects(std::FILE* file, std::FILE* log) : file_(file), log_(log) {}
  void Add(const std::string& where, uint64_t line, const std::string& why) {
    ++count_;
    if (file_ != nullptr) {
      std::fprintf(file_, "%s:%llu: %s\n", where.c_str(),
                   static_cast<unsigned long long>(line), why.c_str());
    } else if (log_ != nullptr && count_ <= kLogged) {
      std::fprintf(log_, "rejected %s:%llu: %s\n", where.c_str(),
                   static_cast<unsigned long long>(line), why.c_str());
    }
  }
  void Summary() const {
    if (file_ == nullptr && log_ != nullptr && count_ > kLogged)
      std::fprintf(log_, "rejected %llu more rows (use --rejects FILE)\n",
                   static_cast<unsigned long long>(count_ - kLogged));
  }
  uint64_t count() const { return count_; }

 private:
  std::FILE* file_;
  std::FILE* log_;
  uint64_t count_ = 0;
};

// Checkpoints an index on its own thread when asked, so that the thread
// asking (the flusher) goes on while a checkpoint encodes, writes and
// syncs. Requests made while one runs coalesce into one more run.
class BackgroundCheckpoints {
 public:
  explicit BackgroundCheckpoints(featurebase::Index* index) : index_(index) {
    thread_ = std::thread([this] { Run(); });
  }
  ~BackgroundCheckpoints() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Request() {
    std::lock_guard<std::mutex> l(mu_);
    requested_ = true;
    cv_.notify_all();
  }
  // Waits until no checkpoint is asked for or running; the first error.
  Status Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !requested_ && !running_; });
    return error_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || requested_; });
      if (!requested_) return;
      requested_ = false;
      running_ = true;
      l.unlock();
      Status s = index_->Checkpoint();
      l.lock();
      running_ = false;
      if (!s.ok() && error_.ok()) error_ = s;
      cv_.notify_all();
    }
  }

  featurebase::Index* const index_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false, running_ = false, stop_ = false;
  Status error_;
  std::thread thread_;
};

// When an import checkpoints (ImportOptions::checkpoint_each_flush): once
// the records committed since the last checkpoint reach half of those
// before it. A checkpoint rewrites every fragment changed since the last
// one: cheap when each batch fills new shards (auto ids), the whole index
// when batches scatter over every shard; the geometric spacing keeps the
// total written within a constant factor of the import either way. One
// policy spans all the files of an import.
struct CheckpointPolicy {
  featurebase::Index* index = nullptr;
  // Runs the checkpoints when the import is pipelined.
  std::unique_ptr<BackgroundCheckpoints> background;
  uint64_t checkpointed = 0;  // records committed up to the last checkpoint
  uint64_t since = 0;         // and since (flusher only)

  // After a flush of `records`: checkpoints (or asks for one) when due.
  Status Committed(uint64_t records) {
    since += records;
    if (since < std::max<uint64_t>(1, checkpointed / 2))
      return absl::OkStatus();
    checkpointed += since;
    since = 0;
    if (background) {
      background->Request();
      return absl::OkStatus();
    }
    return index->Checkpoint();
  }
};

// Two batches: the caller fills one while a thread flushes the other (and
// checkpoints by `policy` when it is not null).
class FlushPipeline {
 public:
  FlushPipeline(std::vector<std::unique_ptr<Batch>> batches, bool threaded,
                CheckpointPolicy* policy)
      : batches_(std::move(batches)),
        busy_(batches_.size(), false),
        lines_(batches_.size(), 0),
        policy_(policy) {
    if (threaded) thread_ = std::thread([this] { Run(); });
  }
  ~FlushPipeline() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Batch& current() { return *batches_[current_]; }

  // Hands the current batch, whose last row is at `line`, to the flusher
  // and switches to a free one.
  Status Submit(uint64_t line) {
    if (!thread_.joinable()) {
      auto r = FlushOne(current_);
      if (!r.ok()) return r.status();
      accepted_ += *r;
      committed_line_ = line;
      return absl::OkStatus();
    }
    std::unique_lock<std::mutex> l(mu_);
    lines_[current_] = line;
    busy_[current_] = true;
    queue_.push_back(current_);
    cv_.notify_all();
    current_ = (current_ + 1) % batches_.size();
    cv_.wait(l, [&] { return !busy_[current_] || !error_.ok(); });
    return error_;
  }

  // Waits for every submitted flush (after an error the flusher skips
  // the rest) and the checkpoints they asked for.
  Status Drain() {
    if (!thread_.joinable()) return absl::OkStatus();
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] {
        for (bool b : busy_)
          if (b) return false;
        return true;
      });
      if (!error_.ok()) return error_;
    }
    return policy_ != nullptr && policy_->background
               ? policy_->background->Wait()
               : absl::OkStatus();
  }

  uint64_t accepted() {
    std::lock_guard<std::mutex> l(mu_);
    return accepted_;
  }
  // The line of the last row committed (0: none yet).
  uint64_t committed_line() {
    std::lock_guard<std::mutex> l(mu_);
    return committed_line_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      const size_t k = queue_.front();
      queue_.erase(queue_.begin());
      if (!error_.ok()) {
        // A flush failed: nothing more is committed.
        busy_[k] = false;
        cv_.notify_all();
        continue;
      }
      l.unlock();
      auto r = FlushOne(k);
      l.lock();
      if (r.ok()) {
        accepted_ += *r;
        committed_line_ = lines_[k];
      } else if (error_.ok()) {
        error_ = r.status();
      }
      busy_[k] = false;
      cv_.notify_all();
    }
  }

  // Flushes batch k (and maybe checkpoints); returns the records it
  // committed.
  StatusOr<uint64_t> FlushOne(size_t k) {
    auto r = batches_[k]->Flush();
    if (!r.ok()) return r.status();
    if (policy_ != nullptr) {
      if (Status s = policy_->Committed(r->accepted); !s.ok()) return s;
    }
    return r->accepted;
  }

  std::vector<std::unique_ptr<Batch>> batches_;
  size_t current_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> busy_;
  std::vector<uint64_t> lines_;  // per batch: the line of its last row
  std::vector<size_t> queue_;
  Status error_;
  uint64_t accepted_ = 0;
  uint64_t committed_line_ = 0;
  bool stop_ = false;
  CheckpointPolicy* const policy_;
  std::thread thread_;
};

bool SameKind(const featurebase::FieldOptions& a,
              const featurebase::FieldOptions& b) {
  return a.type == b.type && a.keys == b.keys;
}

}  // namespace

std::string ImportResult::CommittedJson() const {
  return "{\"records\":" + std::to_string(records) +
         ",\"file\":" + JsonString(last_file) +
         ",\"line\":" + std::to_string(last_line) + "}";
}

std::string ImportResult::ToJson() const {
  char buf[128];
  std::snprintf(buf, sizeof buf,
                "{\"records\":%llu,\"rejected\":%llu,\"seconds\":%.3f}",
                static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(rejected), seconds);
  return buf;
}

Status EnsureFields(featurebase::Index& index, const RowConverter& converter) {
  auto snap = index.GetSnapshot();
  const auto& fields = converter.batch_fields();
  std::vector<featurebase::FieldInfo> missing;
  for (size_t i = 0; i < fields.size(); ++i) {
    const ColumnSpec& col = converter.field_column(i);
    const featurebase::FieldOptions want = col.FieldOptions();
    auto have = snap->Field(fields[i]);
    if (have.ok()) {
      if (!SameKind(have->options, want)) {
        auto describe = [](const featurebase::FieldOptions& o) {
          return std::string(o.keys ? "keyed " : "") +
                 std::string(featurebase::FieldTypeName(o.type));
        };
        return absl::FailedPreconditionError(
            "field \"" + fields[i] + "\" exists as " + describe(have->options) +
            ", header column " + Excerpt(col.cell) + " wants " +
            describe(want));
      }
      continue;
    }
    missing.push_back({fields[i], want});
  }
  // One schema commit for the whole header: n CreateField calls would copy
  // the field table n times.
  if (Status s = index.CreateFields(missing); !s.ok())
    return Status(s.code(), "import-csv: " + std::string(s.message()));
  return absl::OkStatus();
}

StatusOr<ImportResult> ImportCsv(featurebase::Index& index,
                                 const ImportOptions& options,
                                 Progress* progress, std::FILE* log,
                                 ImportResult* committed) {
  const auto start = std::chrono::steady_clock::now();
  if (options.files.empty())
    return absl::InvalidArgumentError("import-csv: no input files");
  const bool keyed = index.options().keys;
  if (keyed != (options.ids.mode == IdOptions::Mode::kPrimaryKey)) {
    return absl::FailedPreconditionError(
        keyed ? "index \"" + index.name() +
                    "\" has record keys: use --primary-key-fields"
              : "index \"" + index.name() +
                    "\" has no record keys: --primary-key-fields needs a "
                    "keyed index");
  }
  std::FILE* rejects_file = nullptr;
  if (!options.rejects_path.empty()) {
    rejects_file = std::fopen(options.rejects_path.c_str(), "w");
    if (rejects_file == nullptr)
      return absl::InvalidArgumentError("open rejects file " +
                                        options.rejects_path + ": " +
                                        std::strerror(errno));
  }
  struct Closer {
    std::FILE* f;
    ~Closer() {
      if (f) std::fclose(f);
    }
  } closer{rejects_file};
  Rejects rejects(rejects_file, log);

  // Open every file first: a missing file fails before anything loads.
  std::vector<std::unique_ptr<ByteSource>> sources;
  uint64_t total_bytes = 0;
  for (const std::string& path : options.files) {
    auto src = OpenByteSource(path);
    if (!src.ok()) return src.status();
    total_bytes += (*src)->file_size();
    sources.push_back(*std::move(src));
  }

  CheckpointPolicy policy;
  if (options.checkpoint_each_flush && index.durable()) {
    policy.index = &index;
    if (options.concurrency >= 2)
      policy.background = std::make_unique<BackgroundCheckpoints>(&index);
  }
  uint64_t records_read = 0, bytes_before = 0, accepted = 0;
  // Pipelined, the first flush comes after an eighth of a batch (the
  // flusher would otherwise sit idle for a whole batch's parsing) and the
  // second after the other seven eighths, so that later batches of
  // sequential ids (auto-generated into a fresh index, default batch size
  // of one shard) each fill one shard rather than straddle two: a shard
  // written by two commits copies its rows twice. Measured on 5M taxi
  // rows: 3.2-3.5 s against 3.5-3.8 s with full batches after the first.
  const size_t first_batch = std::max<size_t>(1, options.batch_size / 8);
  int submitted = 0;  // early submits so far: at most two
  bool tail_submitted = false;
  size_t live_file = 0;
  // What an error reports as committed: the files done, and the records
  // the current file's pipeline committed once its queued flushes are done
  // (so that nothing commits after the report).
  std::string committed_file;
  uint64_t committed_line = 0;
  FlushPipeline* live = nullptr;
  auto fail = [&](Status error) -> Status {
    uint64_t records = accepted;
    std::string file = committed_file;
    uint64_t line = committed_line;
    if (live != nullptr) {
      live->Drain().IgnoreError();
      records += live->accepted();
      if (live->committed_line() > 0) {
        file = options.files[live_file];
        line = live->committed_line();
      }
    }
    if (committed == nullptr) return error;
    committed->records = records;
    committed->rejected = rejects.count();
    committed->last_file = file;
    committed->last_line = line;
    committed->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return error;
  };
  for (size_t f = 0; f < sources.size(); ++f) {
    const std::string& path = options.files[f];
    live_file = f;
    const uint64_t file_size = sources[f]->file_size();
    const bool threaded = options.concurrency >= 2;
    // Threaded, the file is read and parsed on a thread of its own, ahead
    // of the conversion here.
    ReadAheadCsvReader reader(std::move(sources[f]), options.read_buffer_bytes,
                              threaded);
    auto next = reader.Next();
    if (!next.ok()) return fail(next.status());
    const RowBlock* block = *next;
    size_t first_row = 0;
    std::vector<std::string> header_cells;
    if (options.header) {
      header_cells = *options.header;
      if (options.ignore_header && block != nullptr) first_row = 1;
    } else {
      if (block == nullptr)
        return fail(
            absl::InvalidArgumentError(path + ": empty file, no header row"));
      const CsvRow& h = block->rows[0];
      if (!h.error.empty())
        return fail(absl::InvalidArgumentError(
            path + ":" + std::to_string(h.line) + ": header row: " + h.error));
      for (size_t i = 0; i < h.count; ++i)
        header_cells.emplace_back(block->field(h, i));
      first_row = 1;
    }
    auto specs = ParseHeader(header_cells);
    if (!specs.ok())
      return fail(Status(specs.status().code(),
                         path + ": " + std::string(specs.status().message())));
    auto converter = RowConverter::Create(*std::move(specs), options.ids);
    if (!converter.ok()) return fail(converter.status());
    if (Status s = EnsureFields(index, *converter); !s.ok()) return fail(s);

    featurebase::BatchOptions bopts;
    bopts.capacity = std::max<size_t>(1, options.batch_size);
    bopts.id_mode = options.ids.mode == IdOptions::Mode::kAutoGenerate
                        ? featurebase::IdMode::kAutoGenerate
                        : featurebase::IdMode::kExplicit;
    std::vector<std::unique_ptr<Batch>> batches;
    for (int k = 0; k < (threaded ? 2 : 1); ++k) {
      auto b = Batch::Create(&index, converter->batch_fields(), bopts);
      if (!b.ok()) return fail(b.status());
      batches.push_back(*std::move(b));
    }
    FlushPipeline pipeline(std::move(batches), threaded,
                           policy.index != nullptr ? &policy : nullptr);
    live = &pipeline;
    uint64_t last_line = 0;  // of the last row added to the batch
    featurebase::Record record;
    std::string error;
    while (block != nullptr) {
      for (size_t r = first_row; r < block->rows.size(); ++r) {
        const CsvRow& row = block->rows[r];
        ++records_read;
        if (!converter->Convert(*block, row, &record, &error)) {
          rejects.Add(path, row.line, error);
          continue;
        }
        auto full = pipeline.current().Add(record);
        if (!full.ok()) {
          rejects.Add(path, row.line, std::string(full.status().message()));
          continue;
        }
        last_line = row.line;
        if (*full || (threaded && submitted < 2 &&
                      pipeline.current().size() >=
                          (submitted == 0 ? first_batch
                                          : bopts.capacity - first_batch))) {
          ++submitted;
          if (Status s = pipeline.Submit(last_line); !s.ok())
            return fail(Status(s.code(), "flush: " + std::string(s.message())));
        }
      }
      first_row = 0;
      const uint64_t bytes_done = bytes_before + reader.file_offset();
      if (progress) progress->Update(records_read, bytes_done, total_bytes);
      // Near the end of the input (rows left estimated from the bytes per
      // row so far), the batch so far goes to the flusher, once, so that
      // the last flush, which no parsing overlaps, is a small one.
      if (threaded && !tail_submitted && records_read > 0 &&
          pipeline.current().size() >= first_batch &&
          double(total_bytes - std::min(total_bytes, bytes_done)) <=
              double(first_batch) * double(bytes_done) / double(records_read)) {
        tail_submitted = true;
        if (Status s = pipeline.Submit(last_line); !s.ok())
          return fail(Status(s.code(), "flush: " + std::string(s.message())));
      }
      next = reader.Next();
      if (!next.ok()) return fail(next.status());
      block = *next;
    }
    if (pipeline.current().size() > 0) {
      if (Status s = pipeline.Submit(last_line); !s.ok())
        return fail(Status(s.code(), "flush: " + std::string(s.message())));
    }
    if (Status s = pipeline.Drain(); !s.ok())
      return fail(Status(s.code(), "flush: " + std::string(s.message())));
    accepted += pipeline.accepted();
    if (pipeline.committed_line() > 0) {
      committed_file = path;
      committed_line = pipeline.committed_line();
    }
    live = nullptr;
    bytes_before += file_size;
  }
  rejects.Summary();
  ImportResult result;
  result.records = accepted;
  result.rejected = rejects.count();
  result.last_file = committed_file;
  result.last_line = committed_line;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (progress) progress->Finish(result.records, result.rejected);
  return result;
}

}  // namespace fbc
