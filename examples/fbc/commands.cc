#include "examples/fbc/commands.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "examples/fbc/header.h"
#include "examples/fbc/importer.h"
#include "examples/fbc/message.h"
#include "examples/fbc/row_converter.h"
#include "examples/fbc/schema_json.h"
#include "examples/fbc/taxi_gen.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/version.h"

namespace fbc {
namespace {

using featurebase::Index;
using featurebase::Status;
using featurebase::StatusOr;

constexpr uint64_t kDefaultTaxiSeed = 20260704;

const char kUsage[] =
    "usage: fbc [--data-dir DIR] COMMAND ...   (DIR defaults to "
    "./featurebase-data)\n"
    "  create-index NAME [--keys] [--no-track-existence] [--partitions N]\n"
    "  create-field INDEX FIELD [--type set|mutex|bool|int|decimal|timestamp|"
    "time]\n"
    "      [--keys] [--min N] [--max N] [--scale N] [--time-quantum YMDH]\n"
    "      [--no-standard-view] [--epoch RFC3339] [--time-unit s|ms|us|ns] "
    "[--ttl DURATION]\n"
    "  query INDEX 'PQL' [--time]\n"
    "  import-csv INDEX FILE... [--header SPEC] [--ignore-header]\n"
    "      [--primary-key-fields a,b | --id-field F | --auto-generate]\n"
    "      [--batch-size N] [--concurrency N] [--rejects FILE] "
    "[--progress-interval SECONDS]\n"
    "  schema [INDEX]\n"
    "  gen-taxi --rows N [--seed S] FILE   (FILE.gz is gzipped, - is stdout)\n"
    "  demo [--rows N] [--seed S]\n";

// ---------------------------------------------------------------- arguments
struct Flag {
  const char* name;
  bool takes_value;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // flag -> value ("" if none)
  bool has(const std::string& f) const { return values.count(f) > 0; }
  std::string get(const std::string& f) const {
    auto it = values.find(f);
    return it == values.end() ? "" : it->second;
  }
};

// Parses flags (anywhere among positionals, "--flag value" or
// "--flag=value"); InvalidArgument naming an unknown or incomplete flag.
StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                               size_t from, std::vector<Flag> flags) {
  ParsedArgs p;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a.compare(0, 2, "--") != 0 || a == "--") {
      p.positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (const size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    const Flag* f = nullptr;
    for (const Flag& x : flags)
      if (name == x.name) f = &x;
    if (f == nullptr) return absl::InvalidArgumentError("unknown flag " + name);
    if (f->takes_value && !inline_value) {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError("flag " + name + " needs a value");
      value = args[++i];
    } else if (!f->takes_value && inline_value) {
      return absl::InvalidArgumentError("flag " + name + " takes no value");
    }
    if (p.values.count(name))
      return absl::InvalidArgumentError("flag " + name + " given twice");
    p.values[name] = value;
  }
  return p;
}

StatusOr<uint64_t> ParseCount(const std::string& flag, const std::string& v,
                              uint64_t min, uint64_t max) {
  uint64_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() ||
      n < min || n > max)
    return absl::InvalidArgumentError(
        flag + " takes an integer in [" + std::to_string(min) + ", " +
        std::to_string(max) + "], got \"" + v + "\"");
  return n;
}

StatusOr<int64_t> ParseSigned(const std::string& flag, const std::string& v) {
  int64_t n = 0;
  if (!ParseInt64Cell(v, &n))
    return absl::InvalidArgumentError(flag + " takes an integer, got \"" + v +
                                      "\"");
  return n;
}

// ---------------------------------------------------------------- output
int UsageError(std::FILE* err, absl::string_view message) {
  std::fprintf(err, "fbc: %.*s\n%s", int(message.size()), message.data(),
               kUsage);
  return 2;
}

// A failed JSON command: {"error":...} on out, the message on err.
int Fail(std::FILE* out, std::FILE* err, const Status& s) {
  std::fprintf(out, "%s\n", featurebase::ErrorJson(s).c_str());
  std::fprintf(err, "fbc: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Success(std::FILE* out) {
  std::fputs("{\"success\":true}\n", out);
  return 0;
}

// ---------------------------------------------------------------- indexes
struct Context {
  std::string data_dir = "./featurebase-data";
  std::FILE* out;
  std::FILE* err;
  ProcessOptions process;
};

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// OK when `dir` is a directory or does not exist (yet);
// FailedPrecondition naming it when it is something else or cannot be
// examined.
Status CheckDataDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError("data dir " + dir + ": " +
                                         std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "data dir " + dir + " is " +
      (S_ISREG(st.st_mode) ? "a regular file, " : "") + "not a directory");
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InvalidArgumentError("create directory " + dir + ": " +
                                      ec.message());
  return absl::OkStatus();
}

// Opens DIR/<name>. NotFound `index not found: <name>` unless `create`.
// `read_only` opens it for reading only (writes nothing, works on a
// read-only directory; never creates).
StatusOr<std::unique_ptr<Index>> OpenIndex(
    const Context& ctx, const std::string& name, bool create,
    const featurebase::IndexOptions& options = {},
    featurebase::Durability durability = featurebase::Durability::kSync,
    bool read_only = false) {
  if (Status s = ValidateNameForMessage("index", name); !s.ok()) return s;
  const std::string dir = ctx.data_dir + "/" + name;
  if (!IsDir(dir)) {
    if (!create) return absl::NotFoundError("index not found: " + name);
    if (Status s = MakeDirs(ctx.data_dir); !s.ok()) return s;
  }
  featurebase::OpenOptions o;
  o.name = name;
  o.index = options;
  o.create_if_missing = create;
  o.durability = durability;
  o.read_only = read_only;
  auto index = Index::Open(o, dir);
  if (!index.ok() && absl::IsNotFound(index.status()) && !create)
    return absl::NotFoundError("index not found: " + name);
  if (!index.ok())
    return Status(
        index.status().code(),
        "open index " + name + ": " + std::string(index.status().message()));
  return index;
}

// ---------------------------------------------------------------- commands
int CreateIndex(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1,
                     {{"--keys", false},
                      {"--no-track-existence", false},
                      {"--partitions", true}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() != 1)
    return UsageError(ctx.err, "create-index takes one index name");
  const std::string& name = p->positional[0];
  featurebase::IndexOptions o;
  o.keys = p->has("--keys");
  o.track_existence = !p->has("--no-track-existence");
  if (p->has("--partitions")) {
    auto n = ParseCount("--partitions", p->get("--partitions"), 1, 65536);
    if (!n.ok()) return UsageError(ctx.err, n.status().message());
    o.partitions = uint32_t(*n);
  }
  if (Status s = ValidateNameForMessage("index", name); !s.ok())
    return Fail(ctx.out, ctx.err, s);
  if (IsDir(ctx.data_dir + "/" + name)) {
    auto existing = OpenIndex(ctx, name, false);
    if (existing.ok())
      return Fail(ctx.out, ctx.err,
                  absl::AlreadyExistsError("index already exists: " + name));
    if (!absl::IsNotFound(existing.status()))
      return Fail(ctx.out, ctx.err, existing.status());
  }
  auto index = OpenIndex(ctx, name, true, o);
  if (!index.ok()) return Fail(ctx.out, ctx.err, index.status());
  return Success(ctx.out);
}

int CreateField(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1,
                     {{"--type", true},
                      {"--keys", false},
                      {"--min", true},
                      {"--max", true},
                      {"--scale", true},
                      {"--time-quantum", true},
                      {"--no-standard-view", false},
                      {"--epoch", true},
                      {"--time-unit", true},
                      {"--ttl", true}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() != 2)
    return UsageError(ctx.err, "create-field takes INDEX FIELD");
  using featurebase::FieldType;
  featurebase::FieldOptions o;
  if (p->has("--type")) {
    auto t = featurebase::ParseFieldType(p->get("--type"));
    if (!t.ok()) return UsageError(ctx.err, t.status().message());
    o.type = *t;
  }
  const std::string type_name(featurebase::FieldTypeName(o.type));
  auto only = [&](const char* flag, std::initializer_list<FieldType> types,
                  const char* which) -> bool {
    if (!p->has(flag)) return true;
    for (FieldType t : types)
      if (t == o.type) return true;
    UsageError(ctx.err, std::string(flag) + " applies to " + which +
                            " fields, not " + type_name);
    return false;
  };
  if (!only("--keys", {FieldType::kSet, FieldType::kMutex, FieldType::kTime},
            "set, mutex and time") ||
      !only("--min", {FieldType::kInt, FieldType::kDecimal},
            "int and decimal") ||
      !only("--max", {FieldType::kInt, FieldType::kDecimal},
            "int and decimal") ||
      !only("--scale", {FieldType::kDecimal}, "decimal") ||
      !only("--time-quantum", {FieldType::kTime}, "time") ||
      !only("--no-standard-view", {FieldType::kTime}, "time") ||
      !only("--ttl", {FieldType::kTime}, "time") ||
      !only("--epoch", {FieldType::kTimestamp}, "timestamp") ||
      !only("--time-unit", {FieldType::kTimestamp}, "timestamp"))
    return 2;
  o.keys = p->has("--keys");
  if (p->has("--scale")) {
    auto n = ParseCount("--scale", p->get("--scale"), 0, 19);
    if (!n.ok()) return UsageError(ctx.err, n.status().message());
    o.scale = int(*n);
  }
  for (const char* flag : {"--min", "--max"}) {
    if (!p->has(flag)) continue;
    int64_t v;
    if (o.type == FieldType::kDecimal) {
      if (!ParseDecimalCell(p->get(flag), o.scale, &v))
        return UsageError(ctx.err, std::string(flag) + " \"" + p->get(flag) +
                                       "\" " +
                                       DecimalCellError(p->get(flag), o.scale));
    } else {
      auto n = ParseSigned(flag, p->get(flag));
      if (!n.ok()) return UsageError(ctx.err, n.status().message());
      v = *n;
    }
    (std::strcmp(flag, "--min") == 0 ? o.min : o.max) = v;
  }
  if (o.type == FieldType::kTime) {
    if (!p->has("--time-quantum"))
      return UsageError(ctx.err, "a time field needs --time-quantum");
    auto q = featurebase::TimeQuantum::Parse(p->get("--time-quantum"));
    if (!q.ok()) return UsageError(ctx.err, q.status().message());
    o.time_quantum = *q;
    o.no_standard_view = p->has("--no-standard-view");
    if (p->has("--ttl") && !absl::ParseDuration(p->get("--ttl"), &o.ttl))
      return UsageError(ctx.err, "--ttl takes a duration like 24h, got \"" +
                                     p->get("--ttl") + "\"");
  }
  if (p->has("--epoch")) {
    std::string e;
    if (!absl::ParseTime(absl::RFC3339_full, p->get("--epoch"), &o.epoch, &e))
      return UsageError(ctx.err, "--epoch takes an RFC 3339 time, got \"" +
                                     p->get("--epoch") + "\"");
  }
  if (p->has("--time-unit")) {
    auto unit = featurebase::ParseTimeUnit(p->get("--time-unit"));
    if (!unit.ok())
      return UsageError(ctx.err, "--time-unit takes s, ms, us or ns, got " +
                                     Excerpt(p->get("--time-unit")));
    o.time_unit = *unit;
  }
  if (Status s = ValidateNameForMessage("field", p->positional[1]); !s.ok())
    return Fail(ctx.out, ctx.err, s);
  auto index = OpenIndex(ctx, p->positional[0], false);
  if (!index.ok()) return Fail(ctx.out, ctx.err, index.status());
  if (Status s = (*index)->CreateField(p->positional[1], o); !s.ok())
    return Fail(ctx.out, ctx.err, s);
  return Success(ctx.out);
}

int QueryCommand(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1, {{"--time", false}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() != 2)
    return UsageError(ctx.err, "query takes INDEX 'PQL'");
  // PQL does not say up front whether a query writes, so the query runs on
  // a read-only open first and, only if a write was refused for that,
  // again on a writable one: every write of the first run failed and the
  // rest only read, so the second run is the query's one effect.
  auto index = OpenIndex(ctx, p->positional[0], false, {},
                         featurebase::Durability::kSync, true);
  if (!index.ok()) return Fail(ctx.out, ctx.err, index.status());
  const auto t0 = std::chrono::steady_clock::now();
  auto res = featurebase::Query(**index, p->positional[1]);
  if (!res.ok() && absl::IsFailedPrecondition(res.status()) &&
      res.status().message().find("is open read-only") !=
          absl::string_view::npos) {
    index->reset();
    index = OpenIndex(ctx, p->positional[0], false);
    if (!index.ok()) return Fail(ctx.out, ctx.err, index.status());
    res = featurebase::Query(**index, p->positional[1]);
  }
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  if (p->has("--time")) std::fprintf(ctx.err, "time_ms=%.3f\n", ms);
  if (!res.ok()) return Fail(ctx.out, ctx.err, res.status());
  std::fprintf(ctx.out, "%s\n", res->ToJson().c_str());
  return 0;
}

// Import flags shared by import-csv and demo.
StatusOr<ImportOptions> ImportOptionsFrom(const ParsedArgs& p) {
  ImportOptions o;
  int modes = 0;
  if (p.has("--auto-generate")) ++modes;
  if (p.has("--id-field")) {
    ++modes;
    o.ids.mode = IdOptions::Mode::kIdField;
    o.ids.id_field = p.get("--id-field");
  }
  if (p.has("--primary-key-fields")) {
    ++modes;
    o.ids.mode = IdOptions::Mode::kPrimaryKey;
    o.ids.primary_key_fields = SplitHeaderFlag(p.get("--primary-key-fields"));
  }
  if (modes > 1)
    return absl::InvalidArgumentError(
        "--primary-key-fields, --id-field and --auto-generate exclude each "
        "other");
  if (p.has("--header")) o.header = SplitHeaderFlag(p.get("--header"));
  o.ignore_header = p.has("--ignore-header");
  if (o.ignore_header && !o.header)
    return absl::InvalidArgumentError("--ignore-header needs --header");
  if (p.has("--batch-size")) {
    auto n =
        ParseCount("--batch-size", p.get("--batch-size"), 1, uint64_t{1} << 26);
    if (!n.ok()) return n.status();
    o.batch_size = size_t(*n);
  }
  if (p.has("--concurrency")) {
    auto n = ParseCount("--concurrency", p.get("--concurrency"), 1, 64);
    if (!n.ok()) return n.status();
    o.concurrency = int(*n);
  }
  o.rejects_path = p.get("--rejects");
  return o;
}

double ProgressInterval(const ParsedArgs& p, bool* ok) {
  *ok = true;
  if (!p.has("--progress-interval")) return 1.0;
  char* end = nullptr;
  const std::string v = p.get("--progress-interval");
  const double s = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(s >= 0)) *ok = false;
  return s;
}

// A failed import. When it had committed records, they are made durable
// and reported with the error: {"error":"...","committed":{"records":N,
// "file":"F","line":L}} on out, and in words on err.
int FailImport(const Context& ctx, Index& index, const Status& error,
               const ImportResult& committed) {
  if (committed.records == 0) return Fail(ctx.out, ctx.err, error);
  Status s = error;
  if (Status sync = index.Sync(); !sync.ok())
    s = Status(error.code(), std::string(error.message()) +
                                 "; sync of the committed records: " +
                                 std::string(sync.message()));
  std::string json = featurebase::ErrorJson(s);
  json.pop_back();  // the closing brace
  std::fprintf(ctx.out, "%s,\"committed\":%s}\n", json.c_str(),
               committed.CommittedJson().c_str());
  std::fprintf(ctx.err, "fbc: %s (committed %llu records, up to %s:%llu)\n",
               std::string(s.message()).c_str(),
               static_cast<unsigned long long>(committed.records),
               committed.last_file.c_str(),
               static_cast<unsigned long long>(committed.last_line));
  return 1;
}

int ImportCsvCommand(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1,
                     {{"--header", true},
                      {"--ignore-header", false},
                      {"--primary-key-fields", true},
                      {"--id-field", true},
                      {"--auto-generate", false},
                      {"--batch-size", true},
                      {"--concurrency", true},
                      {"--rejects", true},
                      {"--progress-interval", true}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() < 2)
    return UsageError(ctx.err, "import-csv takes INDEX FILE...");
  auto o = ImportOptionsFrom(*p);
  if (!o.ok()) return UsageError(ctx.err, o.status().message());
  bool interval_ok;
  const double interval = ProgressInterval(*p, &interval_ok);
  if (!interval_ok)
    return UsageError(ctx.err, "--progress-interval takes seconds >= 0");
  o->files.assign(p->positional.begin() + 1, p->positional.end());
  o->checkpoint_each_flush = true;
  featurebase::IndexOptions io;
  io.keys = o->ids.mode == IdOptions::Mode::kPrimaryKey;
  // A bulk load: commits are not logged; each batch is checkpointed by the
  // flushing thread once it lands, so every record is written to disk once,
  // not twice (log, then checkpoint). A crash mid-import reopens the index
  // at its last checkpointed batch; a failed import is re-run.
  auto index = OpenIndex(ctx, p->positional[0], true, io,
                         featurebase::Durability::kCheckpoint);
  if (!index.ok()) return Fail(ctx.out, ctx.err, index.status());
  Progress progress(ctx.err, ::isatty(::fileno(ctx.err)) != 0, interval);
  ImportResult committed;
  auto result = ImportCsv(**index, *o, &progress, ctx.err, &committed);
  if (!result.ok()) return FailImport(ctx, **index, result.status(), committed);
  if (Status s = (*index)->Sync(); !s.ok()) return Fail(ctx.out, ctx.err, s);
  std::fprintf(ctx.out, "%s\n", result->ToJson().c_str());
  if (ctx.process.exit_after_import) {
    // Everything is on disk (the Sync wrote the checkpoint; closing would
    // write nothing more) and the directory lock goes with the process.
    std::fflush(ctx.out);
    std::fflush(ctx.err);
    std::_Exit(0);
  }
  return 0;
}

int SchemaCommand(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1, {});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() > 1)
    return UsageError(ctx.err, "schema takes at most one index name");
  std::vector<std::string> names;
  if (p->positional.size() == 1) {
    names.push_back(p->positional[0]);
  } else if (IsDir(ctx.data_dir)) {
    // error_code overloads throughout: an entry that cannot be examined (a
    // symlink loop, a dangling link) is no index and is skipped with a
    // warning naming it; an unreadable data dir is an error.
    std::error_code ec;
    std::filesystem::directory_iterator it(ctx.data_dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!featurebase::ValidateName("index", name).ok()) continue;
      std::error_code entry_ec;
      const bool dir = it->is_directory(entry_ec);
      if (entry_ec) {
        std::fprintf(ctx.err, "fbc: schema: skipping %s: %s\n",
                     it->path().string().c_str(), entry_ec.message().c_str());
        continue;
      }
      if (dir) names.push_back(name);
    }
    if (ec)
      return Fail(
          ctx.out, ctx.err,
          absl::FailedPreconditionError("schema: list data dir " +
                                        ctx.data_dir + ": " + ec.message()));
    std::sort(names.begin(), names.end());
  }
  std::string json = "{\"indexes\":[";
  bool first = true;
  for (const std::string& name : names) {
    auto index =
        OpenIndex(ctx, name, false, {}, featurebase::Durability::kSync, true);
    if (!index.ok()) {
      // A stray directory without an index is not part of the schema.
      if (absl::IsNotFound(index.status()) && p->positional.empty()) continue;
      return Fail(ctx.out, ctx.err, index.status());
    }
    if (!first) json += ",";
    first = false;
    json += IndexJson(**index);
  }
  std::fprintf(ctx.out, "%s]}\n", json.c_str());
  return 0;
}

Status GenTaxi(const std::string& path, uint64_t rows, uint64_t seed) {
  const bool gz =
      path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb6");
    if (f == nullptr)
      return absl::InvalidArgumentError("open " + path + ": " +
                                        std::strerror(errno));
    Status s = WriteTaxiCsv(
        [&](const char* d, size_t n) {
          return gzwrite(f, d, unsigned(n)) == int(n);
        },
        rows, seed, path);
    if (gzclose(f) != Z_OK && s.ok()) s = absl::InternalError("close " + path);
    return s;
  }
  std::FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return absl::InvalidArgumentError("open " + path + ": " +
                                      std::strerror(errno));
  Status s = WriteTaxiCsv(
      [&](const char* d, size_t n) { return std::fwrite(d, 1, n, f) == n; },
      rows, seed, path);
  if (f != stdout) {
    if (std::fclose(f) != 0 && s.ok())
      s = absl::InternalError("close " + path + ": " + std::strerror(errno));
  } else if (std::fflush(f) != 0 && s.ok()) {
    s = absl::InternalError("write stdout: " +
                            std::string(std::strerror(errno)));
  }
  return s;
}

// The bytes per row of gen-taxi's output (gzipped when `gz`), measured on
// the first rows of the seed's file.
StatusOr<double> TaxiBytesPerRow(uint64_t seed, bool gz) {
  constexpr uint64_t kSampleRows = 4096;
  std::string sample;
  if (Status s = WriteTaxiCsv(
          [&](const char* d, size_t n) {
            sample.append(d, n);
            return true;
          },
          kSampleRows, seed, "sample");
      !s.ok())
    return s;
  if (!gz) return double(sample.size()) / double(kSampleRows);
  uLongf packed = compressBound(uLong(sample.size()));
  std::string out(packed, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &packed,
                reinterpret_cast<const Bytef*>(sample.data()),
                uLong(sample.size()), 6) != Z_OK)
    return absl::InternalError("gen-taxi: compress the size sample");
  return double(packed) / double(kSampleRows);
}

// FailedPrecondition when `rows` rows would not fit in the free space of
// the file system holding `path` (statvfs).
Status CheckTaxiFits(const std::string& path, uint64_t rows, uint64_t seed) {
  if (path == "-") return absl::OkStatus();
  const bool gz =
      path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0)
    return absl::InvalidArgumentError("gen-taxi: free space of " + dir + ": " +
                                      std::strerror(errno));
  auto per_row = TaxiBytesPerRow(seed, gz);
  if (!per_row.ok()) return per_row.status();
  const double need = *per_row * double(rows);
  const double free_bytes = double(vfs.f_bavail) * double(vfs.f_frsize);
  if (need <= free_bytes) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "gen-taxi: " + std::to_string(rows) + " rows need about " +
      std::to_string(uint64_t(need)) + " bytes (" +
      std::to_string(uint64_t(*per_row + 0.5)) + " bytes per row" +
      (gz ? " gzipped" : "") + "), " + dir + " has " +
      std::to_string(uint64_t(free_bytes)) + " bytes free");
}

int GenTaxiCommand(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1, {{"--rows", true}, {"--seed", true}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (p->positional.size() != 1)
    return UsageError(ctx.err, "gen-taxi takes one output FILE");
  if (!p->has("--rows")) return UsageError(ctx.err, "gen-taxi needs --rows N");
  auto rows = ParseCount("--rows", p->get("--rows"), 0, uint64_t{1} << 40);
  if (!rows.ok()) return UsageError(ctx.err, rows.status().message());
  uint64_t seed = kDefaultTaxiSeed;
  if (p->has("--seed")) {
    auto s = ParseCount("--seed", p->get("--seed"), 0, UINT64_MAX);
    if (!s.ok()) return UsageError(ctx.err, s.status().message());
    seed = *s;
  }
  if (Status s = CheckTaxiFits(p->positional[0], *rows, seed); !s.ok()) {
    std::fprintf(ctx.err, "fbc: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (Status s = GenTaxi(p->positional[0], *rows, seed); !s.ok()) {
    std::fprintf(ctx.err, "fbc: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

// The four "billion taxi rides" queries, then a few filters.
struct DemoQuery {
  const char* title;
  const char* pql;
};
constexpr DemoQuery kDemoQueries[] = {
    {"Q1 trips per cab type", "TopN(cab_type)"},
    {"Q2 total amount per passenger count (sum and count: avg = sum/count)",
     "GroupBy(Rows(passenger_count), aggregate=Sum(field=total_amount))"},
    {"Q3 trips per passenger count and pickup year",
     "GroupBy(Rows(passenger_count), Rows(pickup_year))"},
    {"Q4 trips per passenger count, pickup year and distance, by count",
     "GroupBy(Rows(passenger_count), Rows(pickup_year), Rows(dist_miles), "
     "sort=\"count desc\")"},
    {"green cabs in 2012",
     "Count(Intersect(Row(cab_type=\"green\"), Row(pickup_year=2012)))"},
    {"trips over $50", "Count(Row(total_amount > 50))"},
    {"airport trips' total amount",
     "Sum(Row(airport=true), field=total_amount)"},
    {"pickups in zone-0 during March 2013",
     "Count(Row(pickup_zone=\"zone-0\", from=\"2013-03-01T00:00\", "
     "to=\"2013-04-01T00:00\"))"},
    {"top 5 pickup zones among tagged trips",
     "TopN(pickup_zone, Row(tags=\"tag-3\"), n=5)"},
};

int DemoCommand(const Context& ctx, const std::vector<std::string>& args) {
  auto p = ParseArgs(args, 1, {{"--rows", true}, {"--seed", true}});
  if (!p.ok()) return UsageError(ctx.err, p.status().message());
  if (!p->positional.empty())
    return UsageError(ctx.err, "demo takes no positional arguments");
  uint64_t rows = 5'000'000, seed = kDefaultTaxiSeed;
  if (p->has("--rows")) {
    auto n = ParseCount("--rows", p->get("--rows"), 1, uint64_t{1} << 34);
    if (!n.ok()) return UsageError(ctx.err, n.status().message());
    rows = *n;
  }
  if (p->has("--seed")) {
    auto n = ParseCount("--seed", p->get("--seed"), 0, UINT64_MAX);
    if (!n.ok()) return UsageError(ctx.err, n.status().message());
    seed = *n;
  }
  std::FILE* out = ctx.out;
  std::fprintf(out,
               "featurebase_core %s demo: %llu taxi-like trips, CSV -> "
               "in-memory index -> PQL\n",
               FEATUREBASE_VERSION_STRING,
               static_cast<unsigned long long>(rows));
  const char* tmp = std::getenv("TMPDIR");
  std::string path =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/fbc-demo-XXXXXX";
  std::vector<char> templ(path.begin(), path.end());
  templ.push_back('\0');
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) {
    std::fprintf(ctx.err, "fbc: demo: temporary file in %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  ::close(fd);
  path = templ.data();
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{path};

  auto t0 = std::chrono::steady_clock::now();
  if (Status s = CheckTaxiFits(path, rows, seed); !s.ok()) {
    std::fprintf(ctx.err, "fbc: demo: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (Status s = GenTaxi(path, rows, seed); !s.ok()) {
    std::fprintf(ctx.err, "fbc: demo: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    std::fprintf(ctx.err, "fbc: demo: stat %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(
      out, "gen-taxi: %.1f MB of CSV in %.2f s\n", double(st.st_size) / 1e6,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count());
  std::fflush(out);

  auto index = Index::Create("taxi");
  if (!index.ok()) return Fail(out, ctx.err, index.status());
  ImportOptions io;
  io.files = {path};
  Progress progress(ctx.err, ::isatty(::fileno(ctx.err)) != 0, 1.0);
  auto result = ImportCsv(**index, io, &progress, ctx.err);
  if (!result.ok()) return Fail(out, ctx.err, result.status());
  std::fprintf(
      out, "import-csv: %s (%.2fM records/s)\n\n", result->ToJson().c_str(),
      result->seconds > 0 ? double(result->records) / result->seconds / 1e6
                          : 0.0);
  for (const DemoQuery& q : kDemoQueries) {
    // Best of three runs: the first also pays for page faults.
    double best = 1e300;
    StatusOr<featurebase::QueryResponse> res;
    for (int k = 0; k < 3; ++k) {
      const auto q0 = std::chrono::steady_clock::now();
      res = featurebase::Query(**index, q.pql);
      best = std::min(best, std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - q0)
                                .count());
      if (!res.ok()) break;
    }
    if (!res.ok()) return Fail(out, ctx.err, res.status());
    std::string json = res->ToJson();
    if (json.size() > 600) json = json.substr(0, 600) + "...";
    std::fprintf(out, "%s\n  %s\n  %.2f ms  %s\n", q.title, q.pql, best,
                 json.c_str());
  }
  return 0;
}

}  // namespace

const char* Usage() { return kUsage; }

int FailUncaught(const char* what, std::FILE* out, std::FILE* err) {
  return Fail(out, err,
              absl::InternalError(std::string("uncaught exception: ") + what));
}

int RunFbc(const std::vector<std::string>& args, std::FILE* out, std::FILE* err,
           const ProcessOptions& process) {
  Context ctx;
  ctx.out = out;
  ctx.err = err;
  ctx.process = process;
  size_t i = 0;
  while (i < args.size() && args[i].compare(0, 2, "--") == 0) {
    if (args[i] == "--data-dir") {
      if (i + 1 >= args.size())
        return UsageError(err, "flag --data-dir needs a value");
      ctx.data_dir = args[i + 1];
      i += 2;
    } else if (args[i].compare(0, 11, "--data-dir=") == 0) {
      ctx.data_dir = args[i].substr(11);
      ++i;
    } else if (args[i] == "--help") {
      std::fputs(kUsage, out);
      return 0;
    } else if (args[i] == "--version") {
      std::fprintf(out, "fbc %s\n", FEATUREBASE_VERSION_STRING);
      return 0;
    } else {
      return UsageError(err, "unknown flag " + args[i]);
    }
  }
  if (ctx.data_dir.empty()) return UsageError(err, "--data-dir is empty");
  if (i >= args.size()) return UsageError(err, "no command");
  const std::vector<std::string> rest(args.begin() + long(i), args.end());
  const std::string& cmd = rest[0];
  if (cmd == "create-index" || cmd == "create-field" || cmd == "query" ||
      cmd == "import-csv" || cmd == "schema") {
    if (Status s = CheckDataDir(ctx.data_dir); !s.ok())
      return Fail(out, err, s);
  }
  if (cmd == "create-index") return CreateIndex(ctx, rest);
  if (cmd == "create-field") return CreateField(ctx, rest);
  if (cmd == "query") return QueryCommand(ctx, rest);
  if (cmd == "import-csv") return ImportCsvCommand(ctx, rest);
  if (cmd == "schema") return SchemaCommand(ctx, rest);
  if (cmd == "gen-taxi") return GenTaxiCommand(ctx, rest);
  if (cmd == "demo") return DemoCommand(ctx, rest);
  if (cmd == "help") {
    std::fputs(kUsage, out);
    return 0;
  }
  return UsageError(err, "unknown command \"" + cmd + "\"");
}

}  // namespace fbc
