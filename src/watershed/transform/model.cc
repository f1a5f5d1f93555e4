// transform/model.cc — see model.h.
#include "watershed/transform/model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "watershed/base/log.h"
#include "watershed/base/strings.h"
#include "watershed/transform/builders.h"
#include "watershed/transform/dbt_project.h"
#include "watershed/transform/schema_yml.h"
#include "watershed/transform/seeds.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;

using jinja::Args;
using jinja::Value;
using warehouse::QuoteIdent;

// Markers the rendered SQL carries for Compile: \x1e R mart \x1f name \x1e, S ns \x1f table, T.
constexpr char kMark = '\x1e';
constexpr char kSep = '\x1f';

StatusOr<std::string> StringArg(const Args& a, size_t i, const char* fn, const char* what) {
  if (i >= a.positional.size()) return absl::InvalidArgumentError(StrCat("needs ", what));
  const Value& v = a.positional[i];
  if (v.kind() != Value::Kind::kString) {
    return absl::InvalidArgumentError(StrCat(what, " must be a string, not ", v.Repr()));
  }
  return v.s();
}

// How a config() value is kept: text ("table", "true", "a,b" for lists).
std::string ConfigText(const Value& v) {
  if (v.kind() == Value::Kind::kBool) return v.b() ? "true" : "false";
  if (v.kind() == Value::Kind::kList) {
    std::vector<std::string> parts;
    for (const Value& x : v.list()) parts.push_back(x.Str());
    return Join(parts, ",");
  }
  return v.Str();
}

// What rendering found, refs and sources in the order first seen.
struct Recorder {
  std::vector<std::string> refs, sources;
  static void Add(std::vector<std::string>& to, std::string x) {
    if (std::find(to.begin(), to.end(), x) == to.end()) to.push_back(std::move(x));
  }
  std::map<std::string, std::string> config;
};

std::map<std::string, Value> Globals(const std::string& mart, const TemplateContext& ctx,
                                     bool incremental, Recorder* rec) {
  std::map<std::string, Value> g;
  g["ref"] = Value(jinja::Function([mart, rec](const Args& a) -> StatusOr<Value> {
    if (a.positional.empty() || a.positional.size() > 2) {
      return absl::InvalidArgumentError("ref() takes a model, or a mart and a model");
    }
    WS_ASSIGN_OR_RETURN(std::string first, StringArg(a, 0, "ref", "a model name"));
    std::string m = mart, name = first;
    if (a.positional.size() == 2) {
      WS_ASSIGN_OR_RETURN(name, StringArg(a, 1, "ref", "a model name"));
      m = first;
    }
    Recorder::Add(rec->refs, StrCat(m, ".", name));
    return Value(
        StrCat(std::string(1, kMark), "R", m, std::string(1, kSep), name, std::string(1, kMark)));
  }));
  g["source"] = Value(jinja::Function([rec](const Args& a) -> StatusOr<Value> {
    if (a.positional.size() != 2) {
      return absl::InvalidArgumentError("source() takes a namespace and a table");
    }
    WS_ASSIGN_OR_RETURN(std::string ns, StringArg(a, 0, "source", "a namespace"));
    WS_ASSIGN_OR_RETURN(std::string table, StringArg(a, 1, "source", "a table"));
    Recorder::Add(rec->sources, StrCat(ns, ".", table));
    return Value(
        StrCat(std::string(1, kMark), "S", ns, std::string(1, kSep), table, std::string(1, kMark)));
  }));
  g["this"] = Value(StrCat(std::string(1, kMark), "T", std::string(1, kMark)));
  g["config"] = Value(jinja::Function([rec](const Args& a) -> StatusOr<Value> {
    if (!a.positional.empty()) {
      return absl::InvalidArgumentError("config() takes key=value arguments only");
    }
    for (const auto& [k, v] : a.named) rec->config[k] = ConfigText(v);
    return Value(std::string());
  }));
  g["var"] = Value(jinja::Function([ctx = &ctx](const Args& a) -> StatusOr<Value> {
    WS_ASSIGN_OR_RETURN(std::string name, StringArg(a, 0, "var", "a variable name"));
    auto it = ctx->vars.find(name);
    if (it != ctx->vars.end()) return it->second;
    if (a.positional.size() > 1) return a.positional[1];
    return absl::InvalidArgumentError(
        StrCat("var '", name,
               "' is not set: add it under vars: in dbt_project.yml, or give a "
               "default: var('",
               name, "', 'value')"));
  }));
  g["env_var"] = Value(jinja::Function([](const Args& a) -> StatusOr<Value> {
    WS_ASSIGN_OR_RETURN(std::string name, StringArg(a, 0, "env_var", "a variable name"));
    const char* v = std::getenv(name.c_str());
    if (v != nullptr) return Value(std::string(v));
    if (a.positional.size() > 1) return a.positional[1];
    return absl::InvalidArgumentError(StrCat("environment variable ", name,
                                             " is not set: export it, or give a default: "
                                             "env_var('",
                                             name, "', 'value')"));
  }));
  g["is_incremental"] = Value(jinja::Function(
      [incremental](const Args&) -> StatusOr<Value> { return Value(incremental); }));
  g["log"] = Value(jinja::Function([](const Args&) -> StatusOr<Value> { return Value(""); }));
  g["exceptions"] = Value(jinja::Dict{
      {"raise_compiler_error", Value(jinja::Function([](const Args& a) -> StatusOr<Value> {
         return absl::InvalidArgumentError(a.positional.empty() ? std::string("compiler error")
                                                                : a.positional[0].Str());
       }))},
      {"warn", Value(jinja::Function([](const Args& a) -> StatusOr<Value> {
         LogWarn("model template warning",
                 {{"message", a.positional.empty() ? "" : a.positional[0].Str()}});
         return Value("");
       }))}});
  return g;
}

// The model's text with its markers resolved.
std::string Resolve(const Model& model, const std::string& text, const std::string& prefix) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find(kMark, pos);
    if (open == std::string::npos) break;
    size_t close = text.find(kMark, open + 1);
    if (close == std::string::npos) break;
    out += text.substr(pos, open - pos);
    const std::string inside = text.substr(open + 1, close - open - 1);
    const size_t sep = inside.find(kSep);
    const std::string a = sep == std::string::npos ? "" : inside.substr(1, sep - 1);
    const std::string b = sep == std::string::npos ? "" : inside.substr(sep + 1);
    switch (inside.empty() ? ' ' : inside[0]) {
      case 'R':
        out += StrCat(QuoteIdent(a), ".", QuoteIdent(b));
        break;
      case 'S':
        out += StrCat(prefix, QuoteIdent(a), ".", QuoteIdent(b));
        break;
      case 'T':
        out += StrCat(QuoteIdent(model.mart), ".", QuoteIdent(model.name));
        break;
      default:
        out += inside;
    }
    pos = close + 1;
  }
  return out + text.substr(pos);
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string Model::materialized() const {
  auto it = config.find("materialized");
  return it == config.end() ? "view" : it->second;
}

StatusOr<Model> ParseModel(const std::string& mart, const std::string& name,
                           const std::string& path, const std::string& sql,
                           const TemplateContext& context) {
  Model m;
  m.mart = mart;
  m.name = name;
  m.path = path;
  m.sql = sql;
  WS_ASSIGN_OR_RETURN(auto tpl, jinja::Template::Parse(sql, path));
  Recorder rec;
  WS_ASSIGN_OR_RETURN(m.rendered,
                      jinja::Render(*tpl, Globals(mart, context, false, &rec), context.macros));
  m.config = context.defaults;
  for (const auto& [k, v] : rec.config) m.config[k] = v;
  const std::string mat = m.materialized();
  if (mat == "incremental") {
    auto inc = jinja::Render(*tpl, Globals(mart, context, true, &rec), context.macros);
    if (!inc.ok()) {
      return Status(inc.status().code(),
                    StrCat(MessageOf(inc.status()), " (rendering with is_incremental() true)"));
    }
    m.rendered_incremental = *inc;
  } else {
    m.rendered_incremental = m.rendered;
  }
  m.refs = rec.refs;
  m.sources = rec.sources;
  if (mat != "view" && mat != "table" && mat != "incremental" && mat != "snapshot") {
    return absl::InvalidArgumentError(
        StrCat(path, ": materialized='", mat, "' is not one of view, table, incremental, snapshot",
               mat == "ephemeral" ? " (ephemeral models are not supported: use view)" : ""));
  }
  if (mat == "snapshot") {
    const std::string strategy = m.config.contains("strategy") ? m.config["strategy"] : "timestamp";
    if (!m.config.contains("unique_key") ||
        (strategy == "timestamp" && !m.config.contains("updated_at")) ||
        (strategy == "check" && !m.config.contains("check_cols")) ||
        (strategy != "timestamp" && strategy != "check")) {
      return absl::InvalidArgumentError(
          StrCat(path,
                 ": a snapshot needs config(unique_key='id', strategy='timestamp', "
                 "updated_at='updated_at') or config(unique_key='id', strategy='check', "
                 "check_cols='a,b')"));
    }
  }
  if ((mat == "incremental") && !m.config.contains("unique_key")) {
    return absl::InvalidArgumentError(
        StrCat(path, ": an incremental model needs config(unique_key='column')"));
  }
  return m;
}

std::string Compile(const Model& model, const std::string& source_prefix, bool incremental) {
  return Resolve(model, incremental ? model.rendered_incremental : model.rendered, source_prefix);
}

StatusOr<std::vector<Model>> DiscoverModels(const std::string& models_dir) {
  std::vector<Model> models;
  std::error_code ec;
  if (!fs::exists(models_dir, ec)) return models;
  const fs::path root = fs::path(models_dir).parent_path();
  WS_ASSIGN_OR_RETURN(DbtProject dbt, LoadDbtProject(root.string()));
  TemplateContext context;
  context.vars = dbt.vars;
  context.macros = dbt.macros;
  std::map<std::string, std::vector<ModelDoc>> docs;  // mart -> schema.yml entries
  std::set<std::string> marts;
  for (const auto& mart : fs::directory_iterator(models_dir, ec)) {
    if (!mart.is_directory()) continue;
    const std::string m_mart = mart.path().filename().string();
    marts.insert(m_mart);
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(mart.path(), ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    std::map<std::string, std::string> seen;  // model name -> its file
    auto claim = [&](const std::string& name, const std::string& file) -> Status {
      auto [it, fresh] = seen.emplace(name, file);
      if (fresh) return absl::OkStatus();
      return absl::InvalidArgumentError(StrCat("two models named '", name, "' in mart ", m_mart,
                                               ": ", it->second, " and ", file,
                                               " (a model is named by its file; rename one)"));
    };
    for (const fs::path& file : files) {
      const std::string ext = file.extension().string();
      if (ext != ".sql" && ext != ".yml" && ext != ".yaml") continue;
      const std::string text = ReadText(file);
      const std::string m_name = file.stem().string();
      if (ext != ".sql") {
        YAML::Node y;
        try {
          y = YAML::Load(text);
        } catch (const YAML::Exception&) {
          // not YAML we can read: the builder reports it with its line
        }
        if (IsSchemaYml(y)) {  // dbt's schema.yml: descriptions (and tests, quality/)
          WS_ASSIGN_OR_RETURN(auto entries, ReadSchemaDocs(y, file.string()));
          for (auto& e : entries) docs[m_mart].push_back(std::move(e));
          continue;
        }
        // A builder spec: one or more generated models.
        WS_ASSIGN_OR_RETURN(auto built, ExpandBuilder(m_mart, m_name, file.string(), text));
        for (auto& m : built) {
          WS_RETURN_IF_ERROR(claim(m.name, file.string()));
          models.push_back(std::move(m));
        }
        continue;
      }
      std::vector<std::string> folders;
      for (const auto& part : fs::relative(file.parent_path(), models_dir, ec)) {
        if (part != ".") folders.push_back(part.string());
      }
      context.defaults = dbt.FolderConfig(folders);
      WS_RETURN_IF_ERROR(claim(m_name, file.string()));
      WS_ASSIGN_OR_RETURN(Model m, ParseModel(m_mart, m_name, file.string(), text, context));
      models.push_back(std::move(m));
    }
  }
  // Refs that name no model but a seed read the seed's table (loaded by `watershed seed`).
  std::set<std::string> ids;
  for (const Model& m : models) ids.insert(m.id());
  const std::vector<Seed> seeds = DiscoverSeeds(root.string(), marts);
  for (Model& m : models) {
    std::vector<std::string> refs;
    for (const std::string& ref : m.refs) {
      const std::string r_mart = ref.substr(0, ref.find('.'));
      const std::string r_name = ref.substr(ref.find('.') + 1);
      const bool seed =
          !ids.contains(ref) && std::any_of(seeds.begin(), seeds.end(), [&](const Seed& s) {
            return s.name == r_name && (s.mart.empty() || s.mart == r_mart);
          });
      (seed ? m.seeds : refs).push_back(ref);
    }
    m.refs = std::move(refs);
  }
  // schema.yml descriptions.
  for (auto& [doc_mart, entries] : docs) {
    const std::string& mart = doc_mart;  // clang 14 cannot capture a structured binding
    for (ModelDoc& d : entries) {
      auto it = std::find_if(models.begin(), models.end(),
                             [&](const Model& m) { return m.mart == mart && m.name == d.name; });
      if (it == models.end()) {
        LogWarn("schema.yml describes no model",
                {{"file", d.file}, {"model", StrCat(mart, ".", d.name)}});
        continue;
      }
      it->description = d.description;
      it->column_descriptions = d.columns;
    }
  }
  std::sort(models.begin(), models.end(),
            [](const Model& a, const Model& b) { return a.id() < b.id(); });
  return models;
}

}  // namespace watershed::transform
