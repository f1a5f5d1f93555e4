// transform/seeds.h — dbt seeds: CSV files under seeds/ loaded into marts as tables, so that
// `{{ ref('country_codes') }}` reads them.
//
// Owns: finding seeds and `watershed seed`. Which mart a seed belongs to: `seeds/<mart>/**/x.csv`
// (the first folder names a mart) goes into that mart; any other seeds/**/x.csv is shared and
// goes into every mart whose models ref it (into the only mart, when the project has one mart
// and no model refs it yet). A seed becomes table `x` of the mart (CREATE OR REPLACE from
// DuckDB's read_csv_auto: header row, types inferred); loading again replaces it. DuckDB marts
// only: a seed for a PostgreSQL/Redshift mart is an error saying so. Does not own: refs (a model
// that refs a seed lists it in Model::seeds, model.h). Thread safety: one call at a time per
// project (DuckDB locks the mart file; run it when no build is running).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"

namespace watershed::transform {

struct Seed {
  std::string mart;  // "" for a shared seed
  std::string name;  // the file name without .csv
  std::string path;
};

// The seeds under `root`/seeds; `marts` are the project's marts (the folders of models/).
std::vector<Seed> DiscoverSeeds(const std::string& root, const std::set<std::string>& marts);

struct SeedResult {
  std::string seed;  // mart.name
  std::string path;
  std::string status;  // ok, error, skipped
  int64_t rows = 0;
  std::string message;
};

// Loads the selected seeds (all when `select` is empty; a seed's name, mart.name or a mart).
// An unknown selector or no seeds at all is an error.
StatusOr<std::vector<SeedResult>> LoadSeeds(project::Project& project,
                                            const std::vector<std::string>& select);

}  // namespace watershed::transform
