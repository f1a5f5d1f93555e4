// bench/catalog/catalog_commits.cc — lake commits per second into one catalog from N concurrent
// writers (threads, each with its own connection, as separate processes would have): each
// commit adds one data file with two column statistics to one table and advances one cursor,
// what a small load commits. Prints one line:
//   catalog_commits backend=sqlite|postgres writers=N commits=M seconds=S commits_per_s=R
// Usage: catalog_commits --catalog PATH_OR_URL [--writers 1] [--commits 200]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "watershed/base/strings.h"
#include "watershed/lake/catalog.h"

namespace {

watershed::lake::CommitRequest OneFile(int writer, int i) {
  using namespace watershed;
  lake::CommitRequest req;
  req.operation = "load";
  req.summary = "{}";
  lake::TableUpdate t;
  t.name = "bench.orders";
  t.columns = {{"id", ColumnType::kBigint}, {"name", ColumnType::kVarchar}};
  t.partition_by = "ingest_date";
  req.tables.push_back(t);
  lake::DataFile f;
  f.table = t.name;
  f.key =
      StrCat("structured/bench/orders/ingest_date=2026-12-03/load-", writer, "-", i, ".parquet");
  f.partition = "ingest_date=2026-12-03";
  f.row_count = 1000;
  f.size_bytes = 65536;
  f.columns = t.columns;
  f.stats = {{"id", "1", "1000", 0}, {"name", "a", "z", 3}};
  req.added.push_back(f);
  req.cursors = {{"bench", StrCat("writer-", writer), StrCat(i)}};
  return req;
}

}  // namespace

int main(int argc, char** argv) {
  std::string catalog;
  int writers = 1, commits = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--catalog"))
      catalog = argv[i + 1];
    else if (!std::strcmp(argv[i], "--writers"))
      writers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--commits"))
      commits = std::atoi(argv[i + 1]);
  }
  if (catalog.empty() || writers < 1 || commits < 1) {
    std::fprintf(stderr,
                 "usage: catalog_commits --catalog PATH_OR_URL [--writers N] [--commits M]\n");
    return 2;
  }
  {  // create the tables before the clock starts
    auto c = watershed::lake::Catalog::Open(catalog);
    if (!c.ok()) {
      std::fprintf(stderr, "catalog_commits: %s\n", c.status().ToString().c_str());
      return 1;
    }
  }
  std::vector<std::thread> threads;
  std::vector<std::string> errors(writers);
  const auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto c = watershed::lake::Catalog::Open(catalog);
      if (!c.ok()) {
        errors[w] = c.status().ToString();
        return;
      }
      for (int i = 0; i < commits; ++i) {
        auto id = (*c)->Commit(OneFile(w, i));
        if (!id.ok()) {
          errors[w] = id.status().ToString();
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& e : errors) {
    if (!e.empty()) {
      std::fprintf(stderr, "catalog_commits: %s\n", e.c_str());
      return 1;
    }
  }
  const bool pg = catalog.starts_with("postgres");
  std::printf("catalog_commits backend=%s writers=%d commits=%d seconds=%.3f commits_per_s=%.1f\n",
              pg ? "postgres" : "sqlite", writers, writers * commits, seconds,
              writers * commits / seconds);
  return 0;
}
