// load/crunchbase.h — `watershed crunchbase`: the Crunchbase unloader landing in the lake.
//
// Owns: wiring sources/crunchbase (Api, Unloader) to a LoadSession through a Sink: entity
// tables `crunchbase.<collection>` keyed by uuid, card tables `crunchbase.organization_<card>`
// keyed by organization, raw responses in a load package (packages/), and one commit per
// checkpoint carrying the source cursor. Does not own: the API (sources/crunchbase), files,
// flattening. Thread safety: one run per call.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/load/session.h"
#include "watershed/project/project.h"
#include "watershed/sources/crunchbase/unloader.h"

namespace watershed::load {

struct CrunchbaseRun {
  std::string mode = "full";  // full | specific
  sources::crunchbase::ApiOptions api;
  sources::crunchbase::UnloadOptions unload;
  SessionOptions session;
};

struct CrunchbaseResult {
  sources::crunchbase::UnloadSummary unload;
  int64_t load_id = 0;
  int64_t last_snapshot = 0;
  std::map<std::string, int64_t> rows;  // rows committed per table
  uint64_t requests = 0, retries = 0, throttled = 0;
  double seconds = 0;
  std::string package;  // raw zone folder
};

StatusOr<CrunchbaseResult> RunCrunchbase(project::Project& project, CrunchbaseRun run);

// The run described by watershed.yml's `sources: crunchbase:` (docs/formats/project.md), with
// CRUNCHBASE_BASE_URL and CRUNCHBASE_API_KEY from the environment winning over the file.
StatusOr<CrunchbaseRun> CrunchbaseSettings(const project::Project& project);

}  // namespace watershed::load
