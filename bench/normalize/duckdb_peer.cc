// bench/normalize/duckdb_peer.cc — the peer the normalize benchmark compares Watershed against:
// DuckDB reading the same NDJSON with read_json_auto and writing zstd Parquet.
//
//   duckdb_peer FILE OUT.parquet [--threads N]
//
// Runs, on an in-memory database:
//   SET threads=N; SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;
//   COPY (SELECT * FROM read_json_auto('FILE')) TO 'OUT' (FORMAT parquet, COMPRESSION zstd)
// then counts the rows of OUT and prints one line:
//   duckdb_peer seconds=… rows=… mb_per_s=… rows_per_s=… peak_rss_mb=…
// `seconds` covers the COPY only (not opening the database or counting); MB means MiB (2^20
// bytes) of input; peak RSS is the process's (getrusage ru_maxrss).
// Owns only this program; depends only on DuckDB's C API. Single connection.
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "duckdb.h"

namespace {

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "duckdb_peer: %s\nusage: duckdb_peer FILE OUT.parquet [--threads N]\n",
               message.c_str());
  std::exit(2);
}

// A SQL string literal: single quotes doubled.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// Runs `sql`; on failure prints DuckDB's error and exits. Returns the result for the caller to
// read and destroy.
duckdb_result Run(duckdb_connection connection, const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(connection, sql.c_str(), &result) == DuckDBError) {
    const char* error = duckdb_result_error(&result);
    std::fprintf(stderr, "duckdb_peer: query failed: %s\n  %s\n", error ? error : "(no message)",
                 sql.c_str());
    duckdb_destroy_result(&result);
    std::exit(1);
  }
  return result;
}

void Exec(duckdb_connection connection, const std::string& sql) {
  duckdb_result result = Run(connection, sql);
  duckdb_destroy_result(&result);
}

}  // namespace

int main(int argc, char** argv) {
  const char* input = nullptr;
  const char* output = nullptr;
  long threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--threads") {
      if (i + 1 >= argc) Usage("missing value after --threads");
      char* end = nullptr;
      threads = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || threads < 1) Usage("--threads takes a positive integer");
    } else if (input == nullptr) {
      input = argv[i];
    } else if (output == nullptr) {
      output = argv[i];
    } else {
      Usage("unexpected argument " + std::string(arg));
    }
  }
  if (input == nullptr || output == nullptr) Usage("FILE and OUT are required");

  struct stat info;
  if (stat(input, &info) != 0) {
    std::fprintf(stderr, "duckdb_peer: cannot stat %s: %s\n", input, std::strerror(errno));
    return 1;
  }
  const double input_mb = static_cast<double>(info.st_size) / (1 << 20);

  duckdb_database database;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &database) == DuckDBError) {
    std::fprintf(stderr, "duckdb_peer: cannot open an in-memory database\n");
    return 1;
  }
  if (duckdb_connect(database, &connection) == DuckDBError) {
    std::fprintf(stderr, "duckdb_peer: cannot connect\n");
    duckdb_close(&database);
    return 1;
  }

  Exec(connection, "SET threads=" + std::to_string(threads));
  Exec(connection, "SET autoinstall_known_extensions=false");
  Exec(connection, "SET autoload_known_extensions=false");

  const auto start = std::chrono::steady_clock::now();
  Exec(connection, "COPY (SELECT * FROM read_json_auto(" + Quote(input) + ")) TO " + Quote(output) +
                       " (FORMAT parquet, COMPRESSION zstd)");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  duckdb_result count = Run(connection, "SELECT count(*) FROM read_parquet(" + Quote(output) + ")");
  const int64_t rows = duckdb_value_int64(&count, 0, 0);
  duckdb_destroy_result(&count);
  duckdb_disconnect(&connection);
  duckdb_close(&database);

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  std::printf("duckdb_peer seconds=%.3f rows=%lld mb_per_s=%.1f rows_per_s=%.0f peak_rss_mb=%.1f\n",
              seconds, static_cast<long long>(rows), seconds > 0 ? input_mb / seconds : 0.0,
              seconds > 0 ? static_cast<double>(rows) / seconds : 0.0, peak_rss_mb);
  return 0;
}
