// server/settings.cc — see settings.h.
#include "watershed/server/settings.h"

#include <charconv>
#include <limits>

#include "watershed/base/clock.h"
#include "watershed/base/strings.h"

namespace watershed::server {

StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  std::string_view t = Trim(text);
  uint64_t number = 0;
  auto [end, err] = std::from_chars(t.data(), t.data() + t.size(), number);
  if (err != std::errc() || end == t.data()) {
    return absl::InvalidArgumentError(
        StrCat("'", text, "' is not a size (write bytes, or e.g. 512KiB, 64MiB, 1GiB)"));
  }
  const std::string unit = ToLower(Trim(std::string_view(end, t.data() + t.size() - end)));
  int shift = 0;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    shift = 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    shift = 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    shift = 30;
  } else {
    return absl::InvalidArgumentError(
        StrCat("'", text, "' is not a size: unknown unit '", unit, "' (use KiB, MiB or GiB)"));
  }
  if (number > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is too large a size"));
  }
  return number << shift;
}

Status ParseServerSettings(const YAML::Node& section, HttpLimits* limits,
                           PublicRoutes* public_routes) {
  if (!section || section.IsNull()) return absl::OkStatus();
  if (!section.IsMap()) return absl::InvalidArgumentError("server: must be a map of settings");
  auto bad = [](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(StrCat("server.", field, ": ", why));
  };
  for (const auto& kv : section) {
    std::string key;
    std::string value;
    try {
      key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) return bad(key, "expected a single value");
      value = kv.second.as<std::string>();
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat("server: ", e.what()));
    }
    auto size = [&](size_t* out, uint64_t min) -> Status {
      StatusOr<uint64_t> v = ParseByteSize(value);
      if (!v.ok()) return bad(key, std::string(v.status().message()));
      if (*v < min) return bad(key, StrCat("must be at least ", min, " bytes"));
      *out = static_cast<size_t>(*v);
      return absl::OkStatus();
    };
    auto count = [&](auto* out, int64_t min, int64_t max) -> Status {
      int64_t v = 0;
      auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (err != std::errc() || end != value.data() + value.size() || v < min || v > max) {
        return bad(key, StrCat("'", value, "' is not a whole number from ", min, " to ", max));
      }
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
      return absl::OkStatus();
    };
    auto duration = [&](absl::Duration* out) -> Status {
      StatusOr<absl::Duration> d = ParseDuration(value);
      if (!d.ok()) return bad(key, std::string(d.status().message()));
      if (*d <= absl::ZeroDuration()) return bad(key, "must be longer than 0");
      *out = *d;
      return absl::OkStatus();
    };
    if (key == "max_body_bytes") {
      WS_RETURN_IF_ERROR(size(&limits->max_body_bytes, 1));
    } else if (key == "max_header_bytes") {
      WS_RETURN_IF_ERROR(size(&limits->max_header_bytes, 256));
    } else if (key == "max_headers") {
      WS_RETURN_IF_ERROR(count(&limits->max_headers, 1, 100000));
    } else if (key == "header_timeout") {
      WS_RETURN_IF_ERROR(duration(&limits->header_timeout));
    } else if (key == "body_timeout") {
      WS_RETURN_IF_ERROR(duration(&limits->body_timeout));
    } else if (key == "idle_timeout") {
      WS_RETURN_IF_ERROR(duration(&limits->idle_timeout));
    } else if (key == "write_timeout") {
      WS_RETURN_IF_ERROR(duration(&limits->write_timeout));
    } else if (key == "max_connections") {
      WS_RETURN_IF_ERROR(count(&limits->max_connections, 1, HttpLimits::kMaxConnectionsLimit));
    } else if (key == "max_requests_per_connection") {
      WS_RETURN_IF_ERROR(count(&limits->max_requests_per_connection, 1, 100000000));
    } else if (key == "public_metrics" || key == "public_streams") {
      if (value != "true" && value != "false") return bad(key, "must be true or false");
      if (public_routes != nullptr) {
        (key == "public_metrics" ? public_routes->metrics : public_routes->streams) =
            value == "true";
      }
    } else {
      return bad(key,
                 "unknown setting (known: max_body_bytes, max_header_bytes, max_headers, "
                 "header_timeout, body_timeout, idle_timeout, write_timeout, max_connections, "
                 "max_requests_per_connection, public_metrics, public_streams)");
    }
  }
  return absl::OkStatus();
}

}  // namespace watershed::server
