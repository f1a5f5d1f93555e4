// cli/transform_commands.cc — `build`, `seed` and `docs`: models into marts (transform/). See commands.h.
#include <iostream>

#include "watershed/cli/commands.h"
#include "watershed/cli/common.h"
#include "watershed/cli/output.h"
#include "watershed/project/project.h"
#include "watershed/transform/docs.h"
#include "watershed/transform/runner.h"
#include "watershed/transform/seeds.h"

namespace watershed::cli {

Status RunBuild(const GlobalOptions& g, const BuildCommand& c) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  transform::BuildOptions o{c.select, c.full_refresh, c.threads};
  WS_ASSIGN_OR_RETURN(auto results, transform::Build(*project, o));
  TextTable t;
  t.header = {"model", "materialized", "status", "rows", "seconds"};
  t.numeric = {false, false, false, true, true};
  int errors = 0, skipped = 0;
  double total = 0;
  for (const auto& r : results) {
    t.rows.push_back({r.model, r.materialized, r.status, Thousands(static_cast<uint64_t>(r.rows)),
                      fmt::format("{:.2f}", r.seconds)});
    errors += r.status == "error";
    skipped += r.status == "skipped";
    total += r.seconds;
  }
  Print(t, OutputFormat::kTable, std::cout);
  for (const auto& r : results) {
    if (r.status != "ok")
      std::cout << "  " << r.status << ": " << r.model << ": " << r.message << "\n";
  }
  std::cout << results.size() - errors - skipped << " built, " << errors << " failed, " << skipped
            << " skipped\n";
  if (errors > 0) {
    return absl::FailedPreconditionError(StrCat(errors, " model(s) failed; see above"));
  }
  return absl::OkStatus();
}

Status RunSeed(const GlobalOptions& g, const std::vector<std::string>& select) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  WS_ASSIGN_OR_RETURN(auto results, transform::LoadSeeds(*project, select));
  TextTable t;
  t.header = {"seed", "status", "rows", "file"};
  t.numeric = {false, false, true, false};
  int errors = 0, loaded = 0;
  for (const auto& r : results) {
    t.rows.push_back({r.seed, r.status, Thousands(static_cast<uint64_t>(r.rows)), r.path});
    errors += r.status == "error";
    loaded += r.status == "ok";
  }
  Print(t, OutputFormat::kTable, std::cout);
  for (const auto& r : results) {
    if (r.status != "ok") std::cout << "  " << r.status << ": " << r.seed << ": " << r.message << "\n";
  }
  std::cout << loaded << " loaded, " << errors << " failed, "
            << results.size() - loaded - errors << " skipped\n";
  if (errors > 0) return absl::FailedPreconditionError(StrCat(errors, " seed(s) failed; see above"));
  return absl::OkStatus();
}

Status RunDocs(const GlobalOptions& g, const std::string& out) {
  WS_ASSIGN_OR_RETURN(auto project, project::Project::Open(g.project));
  const std::string path = out.empty() ? project->root() + "/docs/index.html" : out;
  WS_ASSIGN_OR_RETURN(int n, transform::WriteDocs(*project, path));
  std::cout << "Wrote " << path << " (" << n << " models). Open it in a browser.\n";
  return absl::OkStatus();
}

}  // namespace watershed::cli
