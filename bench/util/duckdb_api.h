// The few functions of DuckDB's C API the optional peer benches call
// (bench/duckdb_peer_bench.cc, bench/import_bench.cc). libduckdb.so from the
// npm package @duckdb/node-bindings-linux-x64 (scripts/peers) ships no
// header, so they are declared here, following the C API's documented
// signatures. Include only where the library is linked.
#ifndef FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_
#define FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

extern "C" {
typedef uint64_t idx_t;
typedef enum { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;
typedef struct _duckdb_database {
  void* internal_ptr;
} * duckdb_database;
typedef struct _duckdb_connection {
  void* internal_ptr;
} * duckdb_connection;
typedef struct _duckdb_appender {
  void* internal_ptr;
} * duckdb_appender;
typedef struct {
  idx_t deprecated_column_count;
  idx_t deprecated_row_count;
  idx_t deprecated_rows_changed;
  void* deprecated_columns;
  char* deprecated_error_message;
  void* internal_data;
} duckdb_result;

duckdb_state duckdb_open(const char* path, duckdb_database* out_database);
void duckdb_close(duckdb_database* database);
duckdb_state duckdb_connect(duckdb_database database,
                            duckdb_connection* out_connection);
void duckdb_disconnect(duckdb_connection* connection);
duckdb_state duckdb_query(duckdb_connection connection, const char* query,
                          duckdb_result* out_result);
void duckdb_destroy_result(duckdb_result* result);
const char* duckdb_result_error(duckdb_result* result);
idx_t duckdb_row_count(duckdb_result* result);
idx_t duckdb_column_count(duckdb_result* result);
char* duckdb_value_varchar(duckdb_result* result, idx_t col, idx_t row);
void duckdb_free(void* ptr);
duckdb_state duckdb_appender_create(duckdb_connection connection,
                                    const char* schema, const char* table,
                                    duckdb_appender* out_appender);
const char* duckdb_appender_error(duckdb_appender appender);
duckdb_state duckdb_appender_destroy(duckdb_appender* appender);
duckdb_state duckdb_appender_end_row(duckdb_appender appender);
duckdb_state duckdb_append_bool(duckdb_appender appender, bool value);
duckdb_state duckdb_append_int64(duckdb_appender appender, int64_t value);
duckdb_state duckdb_append_varchar(duckdb_appender appender, const char* val);
int64_t duckdb_value_int64(duckdb_result* result, idx_t col, idx_t row);
const char* duckdb_library_version();
}

namespace featurebase::bench {

// An in-process DuckDB database and one connection, limited to 2 threads
// (this machine's cores). Benchmarks cannot go on without it, so every
// failure prints `who: what` and aborts.
class DuckDbConnection {
 public:
  explicit DuckDbConnection(std::string who) : who_(std::move(who)) {
    if (duckdb_open(nullptr, &db_) != DuckDBSuccess) Die("duckdb_open");
    if (duckdb_connect(db_, &con_) != DuckDBSuccess) Die("duckdb_connect");
    Exec("SET threads TO 2");
  }
  ~DuckDbConnection() {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }
  DuckDbConnection(const DuckDbConnection&) = delete;
  DuckDbConnection& operator=(const DuckDbConnection&) = delete;

  // Runs `sql`, ignoring its result.
  void Exec(const std::string& sql) {
    duckdb_result r;
    Run(sql, &r);
    duckdb_destroy_result(&r);
  }
  // The first cell of the result as an integer.
  int64_t QueryInt64(const std::string& sql) {
    duckdb_result r;
    Run(sql, &r);
    const int64_t v = duckdb_value_int64(&r, 0, 0);
    duckdb_destroy_result(&r);
    return v;
  }
  // The result as rows of text cells (NULL as "NULL").
  std::vector<std::vector<std::string>> QueryRows(const std::string& sql) {
    duckdb_result r;
    Run(sql, &r);
    std::vector<std::vector<std::string>> out(duckdb_row_count(&r));
    const idx_t cols = duckdb_column_count(&r);
    for (idx_t row = 0; row < out.size(); ++row) {
      for (idx_t col = 0; col < cols; ++col) {
        char* v = duckdb_value_varchar(&r, col, row);
        out[row].push_back(v == nullptr ? "NULL" : v);
        duckdb_free(v);
      }
    }
    duckdb_destroy_result(&r);
    return out;
  }

  duckdb_connection connection() const { return con_; }

  [[noreturn]] void Die(const std::string& what) const {
    std::fprintf(stderr, "%s: %s\n", who_.c_str(), what.c_str());
    std::abort();
  }

 private:
  // Runs `sql` into `*r` (which the caller destroys); aborts naming the
  // query and DuckDB's error when it fails.
  void Run(const std::string& sql, duckdb_result* r) {
    if (duckdb_query(con_, sql.c_str(), r) != DuckDBSuccess) {
      const std::string err = duckdb_result_error(r);
      duckdb_destroy_result(r);
      Die(sql + ": " + err);
    }
  }

  std::string who_;
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
};

}  // namespace featurebase::bench

#endif  // FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_
