// transform/seeds.cc — see seeds.h.
#include "watershed/transform/seeds.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "watershed/base/strings.h"
#include "watershed/transform/model.h"
#include "watershed/transform/runner.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::transform {

namespace fs = std::filesystem;
using warehouse::QuoteIdent;
using warehouse::QuoteLiteral;

std::vector<Seed> DiscoverSeeds(const std::string& root, const std::set<std::string>& marts) {
  std::vector<Seed> out;
  const fs::path dir = fs::path(root) / "seeds";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".csv") continue;
    const fs::path rel = fs::relative(it->path(), dir, ec);
    Seed s;
    s.name = it->path().stem().string();
    s.path = it->path().string();
    const std::string first = rel.begin()->string();
    if (rel.has_parent_path() && marts.contains(first)) s.mart = first;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Seed& a, const Seed& b) {
    return std::tie(a.mart, a.name, a.path) < std::tie(b.mart, b.name, b.path);
  });
  return out;
}

StatusOr<std::vector<SeedResult>> LoadSeeds(project::Project& project,
                                            const std::vector<std::string>& select) {
  WS_ASSIGN_OR_RETURN(auto targets, MartTargets(project));
  std::set<std::string> marts;
  for (const auto& [m, t] : targets) marts.insert(m);
  const std::vector<Seed> seeds = DiscoverSeeds(project.root(), marts);
  if (seeds.empty()) {
    return absl::NotFoundError(
        StrCat("no seeds: put CSV files (with a header row) under ", project.root(), "/seeds/"));
  }
  auto models = DiscoverModels((fs::path(project.root()) / "models").string());
  if (!models.ok()) {
    return Annotate(models.status(), "finding the marts whose models ref the seeds");
  }
  // Each seed with the marts it goes into.
  struct Planned {
    const Seed* seed;
    std::string mart;
  };
  std::vector<Planned> plan;
  std::vector<SeedResult> results;
  for (const Seed& s : seeds) {
    if (!s.mart.empty()) {
      plan.push_back({&s, s.mart});
      continue;
    }
    std::set<std::string> users;
    for (const Model& m : *models) {
      for (const std::string& ref : m.seeds) {
        if (ref.substr(ref.find('.') + 1) == s.name) users.insert(ref.substr(0, ref.find('.')));
      }
    }
    if (users.empty() && marts.size() == 1) users.insert(*marts.begin());
    if (users.empty()) {
      results.push_back({s.name, s.path, "skipped", 0,
                         "no model refs it, so no mart needs it: ref it from a model, or move it "
                         "to seeds/<mart>/"});
    }
    for (const std::string& m : users) plan.push_back({&s, m});
  }
  // --select: a seed's name, mart.name or a mart.
  if (!select.empty()) {
    std::vector<Planned> chosen;
    for (const std::string& sel : select) {
      bool matched = false;
      for (const Planned& p : plan) {
        if (sel == p.seed->name || sel == p.mart || sel == StrCat(p.mart, ".", p.seed->name)) {
          matched = true;
          if (std::none_of(chosen.begin(), chosen.end(), [&](const Planned& c) {
                return c.seed == p.seed && c.mart == p.mart;
              })) {
            chosen.push_back(p);
          }
        }
      }
      if (!matched) {
        std::vector<std::string> names;
        for (const Seed& s : seeds) names.push_back(s.name);
        return absl::InvalidArgumentError(
            StrCat("--select ", sel, " matches no seed (seeds: ", Join(names, ", "), ")"));
      }
    }
    plan = std::move(chosen);
    results.clear();
  }
  const fs::path dir = fs::path(project.root()) / "marts";
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::map<std::string, std::unique_ptr<warehouse::Database>> open;
  for (const Planned& p : plan) {
    SeedResult r{StrCat(p.mart, ".", p.seed->name), p.seed->path, "ok", 0, ""};
    const MartTarget& t = targets.at(p.mart);
    Status s = [&]() -> Status {
      if (t.type != "duckdb") {
        return absl::UnimplementedError(
            StrCat("mart ", p.mart, " lives in ", t.type,
                   "; seeds load into DuckDB marts only for now (load the CSV with `watershed "
                   "load` and select it with source() instead)"));
      }
      if (!open.contains(p.mart)) {
        WS_ASSIGN_OR_RETURN(open[p.mart],
                            warehouse::Database::Open((dir / (p.mart + ".duckdb")).string()));
      }
      WS_ASSIGN_OR_RETURN(auto conn, open[p.mart]->Connect());
      const std::string table = StrCat("main.", QuoteIdent(p.seed->name));
      WS_RETURN_IF_ERROR(conn->Execute(StrCat("CREATE OR REPLACE TABLE ", table,
                                              " AS SELECT * FROM read_csv_auto(",
                                              QuoteLiteral(p.seed->path), ", header = true)")));
      WS_ASSIGN_OR_RETURN(auto n, conn->Query(StrCat("SELECT count(*) FROM ", table)));
      r.rows = n.GetInt64(0, 0);
      return absl::OkStatus();
    }();
    if (!s.ok()) {
      r.status = "error";
      r.message = StrCat(p.seed->path, ": ", MessageOf(s));
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace watershed::transform
