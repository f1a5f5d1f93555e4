// server/settings.h — the `server:` section of watershed.yml: the HTTP server's limits.
//
// Owns: reading `server:` into HttpLimits (sizes like `64MiB`, durations like `10s`), with
// errors naming the field and the accepted forms; unknown keys are errors (a misspelt limit
// must not silently fall back to its default). Defaults and meanings: docs/formats/streams.md.
// Does not belong here: enforcing the limits (http_front.h, server.cc).
// Thread safety: functions only.
#pragma once

#include <cstdint>
#include <string_view>

#include "watershed/base/status.h"
#include "watershed/server/http_front.h"
#include "yaml-cpp/yaml.h"

namespace watershed::server {

// Which status routes answer without a token once watershed.yml has an access: section
// (without one, /metrics and /v1/streams are open as they always were).
struct PublicRoutes {
  bool metrics = false;  // server.public_metrics: GET /metrics for anyone
  bool streams = false;  // server.public_streams: GET /v1/streams for anyone
};

// `section`: the `server:` node (absent or null: the defaults in `limits`). Fields not given
// keep the value `limits` holds; `public_routes` (optional) gets public_metrics/public_streams.
Status ParseServerSettings(const YAML::Node& section, HttpLimits* limits,
                           PublicRoutes* public_routes = nullptr);

// "1048576", "512KiB", "64MiB", "1GiB" (also K/KB, M/MB, G/GB, all binary); kInvalidArgument
// naming the text otherwise.
StatusOr<uint64_t> ParseByteSize(std::string_view text);

}  // namespace watershed::server
