// project/schema_check_test.cc — the keys of watershed.yml: an unknown key in each section is an
// error naming file, line, where and a suggestion; `x-` keys are extensions; a file for a newer
// version warns; the embedded schema is the docs' file; and every watershed.yml example of the
// docs, of examples/ and of `watershed init` passes the binary's own check.
// (scripts/check-project-schema checks the same examples with an independent validator.)
#include "watershed/project/schema_check.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "watershed/base/config.h"
#include "watershed/base/test_util.h"
#include "watershed/project/project.h"

namespace watershed::project {
namespace {

namespace fs = std::filesystem;
using testing_util::MakeTempDir;
using testing_util::ReadFileBytes;
using testing_util::WriteFile;

// Every ${VAR} of the docs' examples resolves.
std::optional<std::string> AnyValue(std::string_view) { return "x"; }

Status OpenWith(const std::string& yml) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml", yml);
  return Project::Open(root).status();
}

struct Typo {
  const char* yml;      // a watershed.yml with one mistyped key
  int line;             // where it is
  const char* where;    // the dotted path of its map ("" at the top)
  const char* key;      // the mistyped key
  const char* suggest;  // the did-you-mean, or "" when nothing is close
};

// One per map of fixed keys, in the order of docs/formats/project.md.
const Typo kTypos[] = {
    {"name: x\nnmae: y\n", 2, "", "nmae", "name"},
    {"storage:\n  lake: lake\n  catalgo: c.db\n", 3, "storage", "catalgo", "catalog"},
    {"tables:\n  a.b:\n    contarct: freeze\n", 3, "tables.a.b", "contarct", "contract"},
    {"sql:\n  sandbx: false\n", 2, "sql", "sandbx", "sandbox"},
    {"sources:\n  crunchbsae: {mode: full}\n", 2, "sources", "crunchbsae", "crunchbase"},
    {"sources:\n  crunchbase:\n    rate_limt: 10\n", 3, "sources.crunchbase", "rate_limt",
     "rate_limit"},
    {"pipelines:\n  daily:\n    retrys: 2\n    tasks: {a: {type: noop}}\n", 3, "pipelines.daily",
     "retrys", "retries"},
    {"pipelines:\n  daily:\n    tasks:\n      a: {type: noop}\n      b: {type: noop, aftr: a}\n", 5,
     "pipelines.daily.tasks.b", "aftr", "after"},
    {"pipelines:\n  daily:\n    on_failure: {webhok: 'https://h'}\n    tasks: {a: {type: noop}}\n",
     3, "pipelines.daily.on_failure", "webhok", "webhook"},
    {"pool:\n  slot: 2\n", 2, "pool", "slot", "slots"},
    {"checks:\n  a.b:\n    - {not_nul: id}\n", 3, "checks.a.b[0]", "not_nul", "not_null"},
    {"checks:\n  a.b:\n    - {range: {column: n, minimum: 0}}\n", 3, "checks.a.b[0].range",
     "minimum", ""},
    {"alarms:\n  fails:\n    metric: m\n    comparison: '>'\n    threshold: 0\n    window: 1h\n"
     "    statistc: max\n",
     7, "alarms.fails", "statistc", "statistic"},
    {"metrics:\n  retension: 7d\n", 2, "metrics", "retension", "retention"},
    {"metrics:\n  cloudwatch: {namespce: W}\n", 2, "metrics.cloudwatch", "namespce", "namespace"},
    {"lineage:\n  open_lineage: {file: l.ndjson}\n", 2, "lineage", "open_lineage", "openlineage"},
    {"lineage:\n  openlineage: {file: l.ndjson, timout: 3}\n", 2, "lineage.openlineage", "timout",
     "timeout"},
    {"marts:\n  finance: {targte: duckdb}\n", 2, "marts.finance", "targte", "target"},
    {"streams:\n  clicks:\n    sorce: http\n", 3, "streams.clicks", "sorce", "source"},
    {"streams:\n  clicks:\n    batch: {max_event: 5}\n", 3, "streams.clicks.batch", "max_event",
     "max_events"},
    {"streams:\n  clicks:\n    maintenance:\n      keep_snapshot: 3\n", 4,
     "streams.clicks.maintenance", "keep_snapshot", "keep_snapshots"},
    {"streams:\n  clicks:\n    accumulators:\n      - name: a\n        window: [1m]\n", 5,
     "streams.clicks.accumulators[0]", "window", "windows"},
    {"streams:\n  o:\n    source: kinesis\n    kinesis: {stream_nam: o}\n", 4, "streams.o.kinesis",
     "stream_nam", "stream_name"},
    {"streams:\n  o:\n    source: kafka\n    kafka: {brokers: b, topic: t, topics: [u]}\n", 4,
     "streams.o.kafka", "topics", "topic"},
    {"server:\n  max_conections: 9\n", 2, "server", "max_conections", "max_connections"},
    {"limits:\n  max_record: 3\n", 2, "limits", "max_record", "max_record_mb"},
};

TEST(ProjectKeys, AnUnknownKeyInEverySectionNamesFileLineWhereAndASuggestion) {
  for (const Typo& t : kTypos) {
    const Status s = OpenWith(t.yml);
    SCOPED_TRACE(t.yml);
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    const std::string m(MessageOf(s));
    const std::string at =
        StrCat("watershed.yml:", t.line, ": ", *t.where ? StrCat(t.where, ": ") : "",
               "unknown key '", t.key, "'");
    EXPECT_NE(m.find(at), std::string::npos) << m << "\nwanted: " << at;
    if (*t.suggest) {
      EXPECT_NE(m.find(StrCat("(did you mean '", t.suggest, "'?)")), std::string::npos) << m;
    } else {
      EXPECT_EQ(m.find("did you mean"), std::string::npos) << m;
    }
    EXPECT_NE(m.find("known keys"), std::string::npos) << "says what is allowed: " << m;
  }
}

TEST(ProjectKeys, TheMessageOfTheIssue) {
  const Status s = OpenWith(
      "name: x\n"
      "pipelines:\n"
      "  daily:\n"
      "    schedule: every 1h\n"
      "    retrys: 2\n"
      "    tasks: {a: {type: noop}}\n");
  EXPECT_NE(MessageOf(s).find("watershed.yml:5: pipelines.daily: unknown key 'retrys' (did you "
                              "mean 'retries'?)"),
            std::string::npos)
      << s;
}

TEST(ProjectKeys, MapsOfNamesTakeAnyNameButCheckWhatIsInside) {
  EXPECT_TRUE(OpenWith("tables:\n  any.name: {contract: freeze}\n"
                       "marts:\n  whatever: {type: duckdb}\n"
                       "streams:\n  k:\n    source: kafka\n"
                       "    kafka: {brokers: b, topic: t, config: {any.librdkafka.key: v}}\n"
                       "alarms:\n  a: {metric: m, comparison: '>', threshold: 1, window: 1m, "
                       "labels: {any_label: v}}\n"
                       "sources:\n  crunchbase:\n    field_ids: {any_collection: [uuid]}\n")
                  .ok());
}

TEST(ProjectKeys, TheKeysOfOtherEngineersChangesAreKnown) {
  // retry_on (pipeline and task) and a task's pool: read by the pipeline parser.
  EXPECT_TRUE(OpenWith("pipelines:\n  d:\n    retry_on: transient\n    tasks:\n"
                       "      a: {type: shell, command: 'true', retry_on: any, pool: default}\n")
                  .ok());
}

TEST(ProjectKeys, XKeysAreExtensionsThatNoParserSees) {
  const std::string root = MakeTempDir();
  WriteFile(root, "watershed.yml",
            "x-editor: {theme: dark}\n"
            "name: x\n"
            "storage: {lake: lake, x-note: keep}\n"
            "pipelines:\n"
            "  daily:\n"
            "    x-owner: data-team\n"
            "    tasks: {a: {type: noop, x-ticket: 12}}\n");
  auto project = Project::Open(root);
  ASSERT_TRUE(project.ok()) << project.status();
  const YAML::Node& raw = (*project)->config().raw;
  EXPECT_FALSE(raw["x-editor"]);
  EXPECT_FALSE(raw["storage"]["x-note"]);
  EXPECT_FALSE(raw["pipelines"]["daily"]["x-owner"]) << "the pipeline parser would reject it";
  EXPECT_FALSE(raw["pipelines"]["daily"]["tasks"]["a"]["x-ticket"]);
  EXPECT_TRUE(raw["pipelines"]["daily"]["tasks"]["a"]["type"]);
  // In a map of names an x- key is a name like any other.
  auto yml = ParseYaml("pipelines:\n  x-daily: {tasks: {a: {type: noop, bogus: 1}}}\n", "w.yml");
  ASSERT_TRUE(yml.ok());
  EXPECT_NE(MessageOf(CheckProjectKeys(*yml, "w.yml", nullptr)).find("unknown key 'bogus'"),
            std::string::npos);
}

TEST(ProjectKeys, AFileForANewerVersionWarnsAndIgnoresUnknownKeys) {
  auto yml = ParseYaml(
      "version: 2\n"
      "storage: {lake: lake, tier: hot}\n"
      "telemetry: {enabled: true}\n"
      "streams:\n  s: {source: kafka, kafka: {brokers: b, topic: t, group: g}}\n",
      "w.yml");
  ASSERT_TRUE(yml.ok());
  std::vector<std::string> warnings;
  ASSERT_TRUE(CheckProjectKeys(*yml, "w.yml", &warnings).ok());
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find("w.yml:2: storage: unknown key 'tier'"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("format version 2"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("w.yml:3: unknown key 'telemetry'"), std::string::npos);
  EXPECT_NE(warnings[2].find("w.yml:5: streams.s.kafka: unknown key 'group'"), std::string::npos);
  EXPECT_FALSE((*yml)["storage"]["tier"]) << "ignored means no parser sees it";
  EXPECT_FALSE((*yml)["streams"]["s"]["kafka"]["group"]) << "the kafka parser would reject it";
  EXPECT_TRUE((*yml)["storage"]["lake"]);

  // The same file for this version: the first unknown key is an error.
  auto now = ParseYaml("version: 1\nstorage: {lake: lake, tier: hot}\n", "w.yml");
  ASSERT_TRUE(now.ok());
  warnings.clear();
  EXPECT_FALSE(CheckProjectKeys(*now, "w.yml", &warnings).ok());
  EXPECT_TRUE(warnings.empty());
  // And a project of a newer version opens.
  EXPECT_TRUE(OpenWith("version: 3\nname: x\nnew_section: {a: 1}\n").ok());
}

TEST(ProjectKeys, AVersionThatIsNotAWholeNumberIsAnError) {
  for (const char* bad : {"version: one\n", "version: 0\n", "version: [1]\n", "version: 1.5\n"}) {
    const Status s = OpenWith(StrCat("name: x\n", bad));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(MessageOf(s).find("watershed.yml:2: version must be a whole number"),
              std::string::npos)
        << s;
  }
}

// ---- the schema itself ------------------------------------------------------------------------

const std::string kSchemaFile = std::string(WS_SOURCE_DIR) + "/docs/formats/watershed.schema.json";

TEST(ProjectSchema, TheBinaryCarriesTheDocsFileAsItIs) {
  EXPECT_EQ(std::string(ProjectSchemaText()), ReadFileBytes(kSchemaFile))
      << "rebuild: the embedded schema is generated from " << kSchemaFile;
}

// Every object schema, with its JSON pointer.
void Objects(const nlohmann::json& s, const std::string& at,
             std::vector<std::pair<std::string, const nlohmann::json*>>* out) {
  if (s.is_array()) {
    for (size_t i = 0; i < s.size(); ++i) Objects(s[i], StrCat(at, "/", i), out);
    return;
  }
  if (!s.is_object()) return;
  out->push_back({at, &s});
  for (const auto& [k, v] : s.items()) {
    if (k != "enum" && k != "const") Objects(v, StrCat(at, "/", k), out);
  }
}

TEST(ProjectSchema, EditorsGetHelpOnEveryKeyAndExtensionsEverywhereKeysAreFixed) {
  const auto schema = nlohmann::json::parse(ProjectSchemaText(), nullptr, false);
  ASSERT_TRUE(schema.is_object()) << "not JSON: " << kSchemaFile;
  EXPECT_EQ(schema["$schema"], "http://json-schema.org/draft-07/schema#");
  EXPECT_TRUE(schema.contains("title"));
  std::vector<std::pair<std::string, const nlohmann::json*>> objects;
  Objects(schema, "", &objects);
  int closed = 0;
  for (const auto& [at, s] : objects) {
    if (auto props = s->find("properties"); props != s->end() && !at.ends_with("/properties")) {
      for (const auto& [key, sub] : props->items()) {
        // Branches of anyOf only restate keys their parent describes.
        if (at.find("Of/") != std::string::npos) continue;
        EXPECT_TRUE(sub.contains("description")) << at << "/properties/" << key;
      }
    }
    auto extra = s->find("additionalProperties");
    if (extra != s->end() && extra->is_boolean() && !extra->get<bool>()) {
      ++closed;
      EXPECT_TRUE(s->contains("patternProperties") && (*s)["patternProperties"].contains("^x-"))
          << at << ": a map of fixed keys allows x- extensions";
    }
  }
  EXPECT_GT(closed, 25) << "every section and setting map is closed";
  // The top-level sections are the schema's: one list.
  EXPECT_TRUE(schema["properties"].contains("pipelines"));
  EXPECT_EQ(schema["additionalProperties"], false);
}

// ---- the examples -------------------------------------------------------------------------

struct Example {
  std::string name;  // file:line
  std::string text;
};

// The ```yaml blocks of a markdown file that are watershed.yml examples: one of their top-level
// keys is a section of the schema (the same rule as scripts/check-project-schema).
std::vector<Example> ProjectExamples(const std::string& path, const nlohmann::json& schema,
                                     int* skipped) {
  std::vector<Example> out;
  std::ifstream in(path);
  std::string line, text;
  int number = 0, start = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    ++number;
    const std::string trimmed = std::string(Trim(line));
    if (!inside && trimmed == "```yaml") {
      inside = true;
      start = number + 1;
      text.clear();
    } else if (inside && trimmed == "```") {
      inside = false;
      auto doc = ParseYaml(text, path, AnyValue);
      bool project = false;
      if (doc.ok() && doc->IsMap()) {
        for (const auto& kv : *doc) {
          project = project || schema["properties"].contains(kv.first.Scalar());
        }
      }
      if (project) {
        out.push_back({StrCat(fs::path(path).filename().string(), ":", start), text});
      } else {
        ++*skipped;
      }
    } else if (inside) {
      text += line + "\n";
    }
  }
  return out;
}

TEST(ProjectSchema, EveryExampleOfTheDocsAndExamplesPassesTheBinarysCheck) {
  const auto schema = nlohmann::json::parse(ProjectSchemaText(), nullptr, false);
  const std::string src = WS_SOURCE_DIR;
  std::vector<Example> examples;
  int skipped = 0;
  std::vector<std::string> docs;
  for (const auto& e : fs::directory_iterator(src + "/docs/formats")) {
    if (e.path().extension() == ".md") docs.push_back(e.path().string());
  }
  docs.push_back(src + "/README.md");
  for (const std::string& d : docs) {
    for (Example& e : ProjectExamples(d, schema, &skipped)) examples.push_back(std::move(e));
  }
  const size_t from_docs = examples.size();
  EXPECT_GE(from_docs, 8u) << "project.md, pipelines.md, streams.md, ... have examples";
  for (const auto& e : fs::directory_iterator(src + "/examples")) {
    if (fs::exists(e.path() / "watershed.yml")) {
      examples.push_back({e.path().filename().string() + "/watershed.yml",
                          ReadFileBytes((e.path() / "watershed.yml").string())});
    }
  }
  const std::string init = MakeTempDir() + "/p";
  ASSERT_TRUE(Project::Init(init, "").ok());
  examples.push_back({"watershed init", ReadFileBytes(init + "/watershed.yml")});
  ASSERT_GT(examples.size(), from_docs + 1);
  for (const Example& e : examples) {
    auto doc = ParseYaml(e.text, e.name, AnyValue);
    ASSERT_TRUE(doc.ok()) << doc.status();
    const Status s = CheckProjectKeys(*doc, e.name, nullptr);
    EXPECT_TRUE(s.ok()) << e.name << ": " << s;
    // The same example with a mistyped key at the top: rejected (the check is on).
    auto bad = ParseYaml(e.text + "\nretrys: 1\n", e.name, AnyValue);
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(CheckProjectKeys(*bad, e.name, nullptr).ok()) << e.name;
  }
}

}  // namespace
}  // namespace watershed::project
