// The few functions of DuckDB's C API the optional peer benches call
// (bench/duckdb_peer_bench.cc, bench/import_bench.cc). libduckdb.so from the
// npm package @duckdb/node-bindings-linux-x64 (scripts/peers) ships no
// header, so they are declared here, following the C API's documented
// signatures. Include only where the library is linked.
#ifndef FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_
#define FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_

#include <cstdint>

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

#endif  // FEATUREBASE_BENCH_UTIL_DUCKDB_API_H_
