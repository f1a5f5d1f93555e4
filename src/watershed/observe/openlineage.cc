// observe/openlineage.cc — see openlineage.h.
// Just over 600 lines: the event builder and the validator written from the OpenLineage JSON
// schemas; the validator is most of it and is read next to what it validates.
#include "watershed/observe/openlineage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "absl/time/time.h"
#include "watershed/base/log.h"
#include "watershed/base/private_files.h"
#include "watershed/base/redact.h"
#include "watershed/base/strings.h"
#include "watershed/net/http_client.h"

namespace watershed::observe {
namespace {

using json = nlohmann::json;

constexpr const char* kSchemaFacetUrl =
    "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
constexpr const char* kColumnLineageFacetUrl =
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/"
    "ColumnLineageDatasetFacet";
constexpr const char* kSqlFacetUrl =
    "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet";
constexpr const char* kJobTypeFacetUrl =
    "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
constexpr const char* kErrorFacetUrl =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/"
    "ErrorMessageRunFacet";

json Facet(const char* schema_url) {
  return json{{"_producer", std::string(kOpenLineageProducer)}, {"_schemaURL", schema_url}};
}

json BaseEvent(const std::string& event_type, const std::string& run_id, int64_t micros,
               const std::string& job_namespace, const std::string& job_name) {
  return json{{"eventType", event_type},
              {"eventTime", EventTime(micros)},
              {"run", {{"runId", run_id}}},
              {"job", {{"namespace", job_namespace}, {"name", job_name}}},
              {"inputs", json::array()},
              {"outputs", json::array()},
              {"producer", std::string(kOpenLineageProducer)},
              {"schemaURL", std::string(kRunEventSchemaUrl)}};
}

json Transformation(const InputField& f) {
  return json{{"type", f.type}, {"subtype", f.subtype}, {"description", ""}, {"masking", false}};
}

// Input fields grouped by (dataset, field), each with its transformations.
json InputFields(const std::string& ns, const std::vector<InputField>& inputs) {
  std::map<std::pair<std::string, std::string>, json> grouped;
  for (const InputField& f : inputs) {
    json& g = grouped[{f.dataset, f.field}];
    if (g.is_null()) {
      g = {{"namespace", ns},
           {"name", f.dataset},
           {"field", f.field},
           {"transformations", json::array()}};
    }
    g["transformations"].push_back(Transformation(f));
  }
  json out = json::array();
  for (auto& [k, v] : grouped) out.push_back(std::move(v));
  return out;
}

// ---- validation ----

class Checker {
 public:
  Status status;

  bool Fail(const std::string& path, const std::string& what) {
    if (status.ok()) {
      status = absl::InvalidArgumentError(
          StrCat("OpenLineage RunEvent ", path.empty() ? "/" : path, ": ", what));
    }
    return false;
  }
  bool Object(const json& v, const std::string& path) {
    return v.is_object() || Fail(path, StrCat("must be an object, not ", v.type_name()));
  }
  bool Array(const json& v, const std::string& path) {
    return v.is_array() || Fail(path, StrCat("must be an array, not ", v.type_name()));
  }
  bool String(const json& v, const std::string& path) {
    return v.is_string() || Fail(path, StrCat("must be a string, not ", v.type_name()));
  }
  // `key` of object `o` is required.
  const json* Required(const json& o, const char* key, const std::string& path) {
    auto it = o.find(key);
    if (it == o.end()) {
      Fail(path, StrCat("required property '", key, "' is missing"));
      return nullptr;
    }
    return &*it;
  }
  const json* Optional(const json& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  }
  void RequiredString(const json& o, const char* key, const std::string& path) {
    if (const json* v = Required(o, key, path)) String(*v, StrCat(path, "/", key));
  }
  void OptionalString(const json& o, const char* key, const std::string& path) {
    if (const json* v = Optional(o, key)) String(*v, StrCat(path, "/", key));
  }
  void Format(const json& v, const std::string& path, bool (*ok)(std::string_view),
              const char* name) {
    if (!String(v, path)) return;
    if (!ok(v.get<std::string>()))
      Fail(path, StrCat("'", v.get<std::string>(), "' is not a ", name));
  }

  // BaseFacet: _producer and _schemaURL, both URIs.
  bool BaseFacet(const json& f, const std::string& path) {
    if (!Object(f, path)) return false;
    if (const json* p = Required(f, "_producer", path))
      Format(*p, path + "/_producer", IsUri, "uri");
    if (const json* s = Required(f, "_schemaURL", path)) {
      Format(*s, path + "/_schemaURL", IsUri, "uri");
    }
    return status.ok();
  }

  void Facets(const json& facets, const std::string& path, const char* owner) {
    if (!Object(facets, path)) return;
    for (const auto& [name, f] : facets.items()) {
      const std::string fp = StrCat(path, "/", name);
      // A facet may be nulled out (`{"facet": {"_deleted": true}}` is the spec's other shape);
      // otherwise it is a BaseFacet.
      if (f.is_object() && f.contains("_deleted") && f.size() == 1) {
        if (!f["_deleted"].is_boolean()) Fail(fp + "/_deleted", "must be a boolean");
        continue;
      }
      if (!BaseFacet(f, fp)) continue;
      const std::string kind = owner;
      if (kind == "dataset" && name == "schema") SchemaFacet(f, fp);
      if (kind == "dataset" && name == "columnLineage") ColumnLineageFacet(f, fp);
      if (kind == "job" && name == "sql") RequiredString(f, "query", fp);
      if (kind == "job" && name == "jobType") {
        RequiredString(f, "processingType", fp);
        RequiredString(f, "integration", fp);
        OptionalString(f, "jobType", fp);
      }
      if (kind == "run" && name == "errorMessage") {
        RequiredString(f, "message", fp);
        RequiredString(f, "programmingLanguage", fp);
        OptionalString(f, "stackTrace", fp);
      }
    }
  }

  void SchemaFields(const json& fields, const std::string& path) {
    if (!Array(fields, path)) return;
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string fp = StrCat(path, "/", i);
      const json& f = fields[i];
      if (!Object(f, fp)) return;
      RequiredString(f, "name", fp);
      OptionalString(f, "type", fp);
      OptionalString(f, "description", fp);
      if (const json* nested = Optional(f, "fields")) SchemaFields(*nested, fp + "/fields");
    }
  }

  void SchemaFacet(const json& f, const std::string& path) {
    if (const json* fields = Optional(f, "fields")) SchemaFields(*fields, path + "/fields");
  }

  void InputFieldList(const json& list, const std::string& path) {
    if (!Array(list, path)) return;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ip = StrCat(path, "/", i);
      const json& in = list[i];
      if (!Object(in, ip)) return;
      RequiredString(in, "namespace", ip);
      RequiredString(in, "name", ip);
      RequiredString(in, "field", ip);
      if (const json* ts = Optional(in, "transformations")) {
        const std::string tp = ip + "/transformations";
        if (!Array(*ts, tp)) return;
        for (size_t k = 0; k < ts->size(); ++k) {
          const std::string kp = StrCat(tp, "/", k);
          const json& t = (*ts)[k];
          if (!Object(t, kp)) return;
          if (const json* type = Required(t, "type", kp)) {
            if (String(*type, kp + "/type") && *type != "DIRECT" && *type != "INDIRECT") {
              Fail(kp + "/type",
                   StrCat("'", type->get<std::string>(), "' is not DIRECT or INDIRECT"));
            }
          }
          OptionalString(t, "subtype", kp);
          OptionalString(t, "description", kp);
          if (const json* m = Optional(t, "masking"); m && !m->is_boolean()) {
            Fail(kp + "/masking", "must be a boolean");
          }
        }
      }
    }
  }

  void ColumnLineageFacet(const json& f, const std::string& path) {
    const json* fields = Required(f, "fields", path);
    if (fields == nullptr || !Object(*fields, path + "/fields")) return;
    for (const auto& [name, out] : fields->items()) {
      const std::string op = StrCat(path, "/fields/", name);
      if (!Object(out, op)) return;
      if (const json* in = Required(out, "inputFields", op))
        InputFieldList(*in, op + "/inputFields");
      OptionalString(out, "transformationDescription", op);
      OptionalString(out, "transformationType", op);
    }
    if (const json* ds = Optional(f, "dataset")) InputFieldList(*ds, path + "/dataset");
  }

  void Dataset(const json& d, const std::string& path, const char* io_facets) {
    if (!Object(d, path)) return;
    RequiredString(d, "namespace", path);
    RequiredString(d, "name", path);
    if (const json* f = Optional(d, "facets")) Facets(*f, path + "/facets", "dataset");
    if (const json* f = Optional(d, io_facets)) Facets(*f, StrCat(path, "/", io_facets), "io");
  }
};

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsDigits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}
int Num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

std::string NewUuid() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), static_cast<unsigned>(NowMicros())};
    return std::mt19937_64(seq);
  }());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant 10xx
  const std::string h = fmt::format("{:016x}{:016x}", hi, lo);
  return StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-", h.substr(16, 4),
                "-", h.substr(20, 12));
}

std::string EventTime(int64_t micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

// RFC 3339 date-time: full-date "T" partial-time [.frac] ("Z" / ("+"|"-") HH ":" MM).
bool IsDateTime(std::string_view s) {
  if (s.size() < 20 || !IsDigits(s, 0, 4) || s[4] != '-' || !IsDigits(s, 5, 2) || s[7] != '-' ||
      !IsDigits(s, 8, 2) || (s[10] != 'T' && s[10] != 't') || !IsDigits(s, 11, 2) || s[13] != ':' ||
      !IsDigits(s, 14, 2) || s[16] != ':' || !IsDigits(s, 17, 2)) {
    return false;
  }
  const int year = Num(s, 0, 4), month = Num(s, 5, 2), day = Num(s, 8, 2);
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  if (Num(s, 11, 2) > 23 || Num(s, 14, 2) > 59 || Num(s, 17, 2) > 60) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    return i + 6 == s.size() && IsDigits(s, i + 1, 2) && s[i + 3] == ':' && IsDigits(s, i + 4, 2) &&
           Num(s, i + 1, 2) <= 23 && Num(s, i + 4, 2) <= 59;
  }
  return false;
}

// RFC 3986 URI: scheme ":" hier-part [ "?" query ] [ "#" fragment ], checked for the characters
// each part may hold (unreserved, sub-delims, ":" "@" "/" "?" "#" "[" "]" and %HH escapes).
bool IsUri(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    const char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  static const std::string_view kAllowed = "-._~!$&'()*+,;=:@/?#[]";
  int hashes = 0;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) return false;
      i += 2;
      continue;
    }
    if (c == '#' && ++hashes > 1) return false;
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        kAllowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Status ValidateRunEvent(const json& event) {
  Checker c;
  if (!c.Object(event, "")) return c.status;
  // BaseEvent
  if (const json* t = c.Required(event, "eventTime", ""))
    c.Format(*t, "/eventTime", IsDateTime, "date-time");
  if (const json* p = c.Required(event, "producer", "")) c.Format(*p, "/producer", IsUri, "uri");
  if (const json* s = c.Required(event, "schemaURL", "")) c.Format(*s, "/schemaURL", IsUri, "uri");
  // RunEvent
  if (const json* t = c.Optional(event, "eventType")) {
    static const std::set<std::string>& kTypes = *new std::set<std::string>{"START", "RUNNING", "COMPLETE",
                                                 "ABORT", "FAIL",    "OTHER"};
    if (c.String(*t, "/eventType") && !kTypes.contains(t->get<std::string>())) {
      c.Fail("/eventType", StrCat("'", t->get<std::string>(),
                                  "' is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"));
    }
  }
  if (const json* run = c.Required(event, "run", "")) {
    if (c.Object(*run, "/run")) {
      if (const json* id = c.Required(*run, "runId", "/run"))
        c.Format(*id, "/run/runId", IsUuid, "uuid");
      if (const json* f = c.Optional(*run, "facets")) c.Facets(*f, "/run/facets", "run");
    }
  }
  if (const json* job = c.Required(event, "job", "")) {
    if (c.Object(*job, "/job")) {
      c.RequiredString(*job, "namespace", "/job");
      c.RequiredString(*job, "name", "/job");
      if (const json* f = c.Optional(*job, "facets")) c.Facets(*f, "/job/facets", "job");
    }
  }
  for (const char* side : {"inputs", "outputs"}) {
    const json* list = c.Optional(event, side);
    if (list == nullptr) continue;
    const std::string path = StrCat("/", side);
    if (!c.Array(*list, path)) continue;
    for (size_t i = 0; i < list->size(); ++i) {
      c.Dataset((*list)[i], StrCat(path, "/", i),
                std::string(side) == "inputs" ? "inputFacets" : "outputFacets");
    }
  }
  return c.status;
}

OpenLineageNames NamesFor(const project::Project& project) {
  std::string base =
      StrCat("watershed://", project.config().name.empty() ? "project" : project.config().name);
  try {
    const YAML::Node& raw = project.config().raw;
    if (raw["lineage"] && raw["lineage"]["openlineage"] &&
        raw["lineage"]["openlineage"]["namespace"]) {
      base = raw["lineage"]["openlineage"]["namespace"].as<std::string>();
    }
  } catch (const YAML::Exception&) {
  }
  return {base, base, StrCat(base, "/json")};
}

json ModelRunEvent(const OpenLineageNames& names, const std::string& event_type,
                   const std::string& run_id, int64_t micros, const ModelBuild& build,
                   const ModelLineage* lineage) {
  json e = BaseEvent(event_type, run_id, micros, names.job_namespace, build.model);
  json sql = Facet(kSqlFacetUrl);
  sql["query"] = build.sql;
  json job_type = Facet(kJobTypeFacetUrl);
  job_type["processingType"] = "BATCH";
  job_type["integration"] = "WATERSHED";
  job_type["jobType"] = "MODEL";
  e["job"]["facets"] = {{"sql", sql}, {"jobType", job_type}};
  if (event_type == "FAIL") {
    json err = Facet(kErrorFacetUrl);
    err["message"] = build.error;
    err["programmingLanguage"] = "SQL";
    e["run"]["facets"] = {{"errorMessage", err}};
  }
  json output = {{"namespace", names.dataset_namespace}, {"name", build.model}};
  if (lineage != nullptr) {
    for (const auto& [dataset, kind] : lineage->input_datasets) {
      if (dataset == build.model) continue;
      e["inputs"].push_back({{"namespace", names.dataset_namespace}, {"name", dataset}});
    }
    if (event_type == "COMPLETE") {
      json schema = Facet(kSchemaFacetUrl);
      schema["fields"] = json::array();
      for (const OutputColumn& c : lineage->columns) {
        json f = {{"name", c.name}};
        if (!c.data_type.empty()) f["type"] = c.data_type;
        schema["fields"].push_back(f);
      }
      output["facets"] = {{"schema", schema}};
      if (lineage->column_level) {
        json cl = Facet(kColumnLineageFacetUrl);
        cl["fields"] = json::object();
        for (const OutputColumn& c : lineage->columns) {
          std::vector<InputField> inputs;
          for (const InputField& f : c.inputs) {
            if (f.dataset != build.model) inputs.push_back(f);
          }
          if (inputs.empty()) continue;
          cl["fields"][c.name] = {{"inputFields", InputFields(names.dataset_namespace, inputs)}};
        }
        std::vector<InputField> dataset;
        for (const InputField& f : lineage->dataset_inputs) {
          if (f.dataset != build.model) dataset.push_back(f);
        }
        cl["dataset"] = InputFields(names.dataset_namespace, dataset);
        output["facets"]["columnLineage"] = cl;
      }
    }
  }
  e["outputs"].push_back(output);
  return e;
}

json LoadRunEvent(const OpenLineageNames& names, const std::string& event_type,
                  const std::string& run_id, int64_t micros, int64_t load_id,
                  const std::vector<normalize::TableSchema>& tables) {
  json e = BaseEvent(event_type, run_id, micros, names.job_namespace, StrCat("load.", load_id));
  json job_type = Facet(kJobTypeFacetUrl);
  job_type["processingType"] = "BATCH";
  job_type["integration"] = "WATERSHED";
  job_type["jobType"] = "LOAD";
  e["job"]["facets"] = {{"jobType", job_type}};
  std::map<std::string, std::vector<std::string>> paths_by_root;
  for (const normalize::TableSchema& t : tables) {
    if (t.name == "watershed.quarantine") continue;
    const std::string root = normalize::RootTableOf(tables, t.name);
    json schema = Facet(kSchemaFacetUrl);
    schema["fields"] = json::array();
    json cl = Facet(kColumnLineageFacetUrl);
    cl["fields"] = json::object();
    for (const ColumnSpec& c : t.columns) {
      schema["fields"].push_back({{"name", c.name}, {"type", std::string(ColumnTypeSql(c.type))}});
      if (auto path = normalize::JsonPathOf(tables, t.name, c.name)) {
        cl["fields"][c.name] = {
            {"inputFields",
             InputFields(names.json_namespace, {{root, *path, "DIRECT", "IDENTITY"}})}};
        auto& paths = paths_by_root[root];
        if (std::find(paths.begin(), paths.end(), *path) == paths.end()) paths.push_back(*path);
      }
    }
    e["outputs"].push_back({{"namespace", names.dataset_namespace},
                            {"name", t.name},
                            {"facets", {{"schema", schema}, {"columnLineage", cl}}}});
  }
  for (const auto& [root, paths] : paths_by_root) {
    json schema = Facet(kSchemaFacetUrl);
    schema["fields"] = json::array();
    for (const std::string& p : paths) schema["fields"].push_back({{"name", p}, {"type", "json"}});
    e["inputs"].push_back(
        {{"namespace", names.json_namespace}, {"name", root}, {"facets", {{"schema", schema}}}});
  }
  return e;
}

// ---- sinks ----

std::unique_ptr<OpenLineageSink> SinkForOrWarn(const project::Project& project) {
  auto sink = OpenLineageSink::FromProject(project);
  if (!sink.ok()) {
    LogWarn("openlineage: sink not configured correctly",
            {{"error", std::string(MessageOf(sink.status()))}});
    return nullptr;
  }
  return std::move(*sink);
}

Status EmitAll(OpenLineageSink* sink, const std::vector<nlohmann::json>& events) {
  if (sink == nullptr) return absl::OkStatus();
  for (const auto& e : events) {
    Status s = sink->Emit(e);
    if (!s.ok()) {
      LogWarn("openlineage: event not delivered",
              {{"target", RedactUrl(sink->target())}, {"error", std::string(MessageOf(s))}});
      return s;
    }
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<OpenLineageSink>> OpenLineageSink::FromProject(
    const project::Project& project) {
  try {
    const YAML::Node& raw = project.config().raw;
    if (!raw["lineage"] || !raw["lineage"]["openlineage"]) return nullptr;
    const YAML::Node ol = raw["lineage"]["openlineage"];
    if (!ol.IsMap()) {
      return absl::InvalidArgumentError(
          "watershed.yml: lineage.openlineage must be a map with `file` or `url`");
    }
    const bool file = ol["file"].IsDefined(), url = ol["url"].IsDefined();
    if (file == url) {
      return absl::InvalidArgumentError(
          "watershed.yml: lineage.openlineage needs exactly one of `file` and `url`");
    }
    if (file) {
      std::filesystem::path p = ol["file"].as<std::string>();
      if (p.is_relative()) p = std::filesystem::path(project.root()) / p;
      return ToFile(p.string());
    }
    const std::string target = ol["url"].as<std::string>();
    if (!target.starts_with("http://") && !target.starts_with("https://")) {
      return absl::InvalidArgumentError(StrCat(
          "watershed.yml: lineage.openlineage.url must be http(s), not '", RedactUrl(target), "'"));
    }
    std::string token = ol["token"] ? ol["token"].as<std::string>() : "";
    if (!token.empty()) RegisterSecret(token);
    return ToUrl(target, token, ol["timeout"] ? ol["timeout"].as<int>() : 10);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("watershed.yml: lineage.openlineage: ", e.what()));
  }
}

std::unique_ptr<OpenLineageSink> OpenLineageSink::ToFile(std::string path) {
  std::unique_ptr<OpenLineageSink> s(new OpenLineageSink());
  s->target_ = std::move(path);
  return s;
}

std::unique_ptr<OpenLineageSink> OpenLineageSink::ToUrl(std::string url, std::string token,
                                                        int timeout_seconds) {
  std::unique_ptr<OpenLineageSink> s(new OpenLineageSink());
  s->target_ = std::move(url);
  s->is_url_ = true;
  s->token_ = std::move(token);
  s->timeout_seconds_ = timeout_seconds;
  return s;
}

OpenLineageSink::~OpenLineageSink() = default;

Status OpenLineageSink::Emit(const json& event) {
  WS_RETURN_IF_ERROR(ValidateRunEvent(event));
  const std::string body = event.dump();
  std::lock_guard<std::mutex> lock(mu_);
  if (!is_url_) {
    // An event log (it carries SQL and error messages): owner-only like the run logs.
    StatusOr<int> opened = OpenPrivateFile(target_, O_WRONLY | O_APPEND);
    if (!opened.ok()) return Annotate(opened.status(), "openlineage");
    const int fd = *opened;
    const std::string line = body + "\n";
    const ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size())) {
      return absl::UnavailableError(StrCat("openlineage: short write to ", target_));
    }
    return absl::OkStatus();
  }
  net::HttpClientOptions options;
  options.retry.max_attempts = 3;
  options.request_timeout = absl::Seconds(timeout_seconds_);
  options.secret_headers = {"Authorization"};
  net::HttpClient client(options);
  net::HttpRequest request;
  request.method = "POST";
  request.url = target_;
  request.body = body;
  request.headers.push_back({"Content-Type", "application/json"});
  if (!token_.empty()) request.headers.push_back({"Authorization", StrCat("Bearer ", token_)});
  WS_ASSIGN_OR_RETURN(net::HttpResponse response, client.Send(request));
  if (response.status < 200 || response.status >= 300) {
    return absl::FailedPreconditionError(StrCat("openlineage: POST ", RedactUrl(target_),
                                                " answered HTTP ", response.status, ": ",
                                                response.body.substr(0, 200)));
  }
  return absl::OkStatus();
}

}  // namespace watershed::observe
