// transform/model.cc — see model.h.
#include "watershed/transform/model.h"

#include "watershed/base/strings.h"
#include "watershed/transform/builders.h"
#include "watershed/warehouse/duckdb/database.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace watershed::transform {
namespace {

namespace fs = std::filesystem;

using warehouse::QuoteIdent;

// The quoted string arguments of `fn(...)`, e.g. ref('a') -> {"a"}; key=value pairs into *kv.
StatusOr<std::vector<std::string>> Arguments(std::string_view call,
                                             std::map<std::string, std::string>* kv) {
  std::vector<std::string> args;
  size_t open = call.find('('), close = call.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return absl::InvalidArgumentError(StrCat("expected a call like ref('name'), got '", call, "'"));
  }
  std::string_view inside = call.substr(open + 1, close - open - 1);
  size_t i = 0;
  while (i < inside.size()) {
    while (i < inside.size() && (inside[i] == ' ' || inside[i] == ',')) ++i;
    if (i >= inside.size()) break;
    std::string key;
    size_t eq = inside.find('=', i);
    size_t quote = inside.find_first_of("'\"", i);
    if (eq != std::string_view::npos && (quote == std::string_view::npos || eq < quote)) {
      key = Trim(inside.substr(i, eq - i));
      i = eq + 1;
      while (i < inside.size() && inside[i] == ' ') ++i;
    }
    if (i >= inside.size()) break;
    std::string value;
    if (inside[i] == '\'' || inside[i] == '"') {
      char q = inside[i];
      size_t end = inside.find(q, i + 1);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError(StrCat("unterminated string in '", call, "'"));
      }
      value = std::string(inside.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {  // a bare word or number
      size_t end = inside.find(',', i);
      if (end == std::string_view::npos) end = inside.size();
      value = Trim(inside.substr(i, end - i));
      i = end;
    }
    if (key.empty()) {
      args.push_back(value);
    } else if (kv != nullptr) {
      (*kv)[key] = value;
    }
  }
  return args;
}

// Calls `fn(expression)` for every {{ expression }} in `sql`, replacing it with what fn returns.
StatusOr<std::string> Expand(const std::string& sql,
                             const std::function<StatusOr<std::string>(std::string_view)>& fn) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = sql.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = sql.find("}}", open + 2);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("'{{' without '}}' at byte ", open, " (line ",
                 std::count(sql.begin(), sql.begin() + static_cast<long>(open), '\n') + 1, ")"));
    }
    out += sql.substr(pos, open - pos);
    WS_ASSIGN_OR_RETURN(std::string replacement, fn(std::string(Trim(std::string_view(sql).substr(open + 2, close - open - 2)))));
    out += replacement;
    pos = close + 2;
  }
  out += sql.substr(pos);
  return out;
}

}  // namespace

std::string Model::materialized() const {
  auto it = config.find("materialized");
  return it == config.end() ? "view" : it->second;
}

StatusOr<Model> ParseModel(const std::string& mart, const std::string& name,
                           const std::string& path, const std::string& sql) {
  Model m{mart, name, path, sql, {}, {}, {}};
  auto visit = [&](std::string_view expr) -> StatusOr<std::string> {
    if (expr.starts_with("config")) {
      WS_RETURN_IF_ERROR(Arguments(expr, &m.config).status());
    } else if (expr.starts_with("ref")) {
      WS_ASSIGN_OR_RETURN(auto args, Arguments(expr, nullptr));
      if (args.size() == 1) {
        m.refs.push_back(StrCat(mart, ".", args[0]));
      } else if (args.size() == 2) {
        m.refs.push_back(StrCat(args[0], ".", args[1]));
      } else {
        return absl::InvalidArgumentError("ref() takes a model, or a mart and a model");
      }
    } else if (expr.starts_with("source")) {
      WS_ASSIGN_OR_RETURN(auto args, Arguments(expr, nullptr));
      if (args.size() != 2) {
        return absl::InvalidArgumentError("source() takes a namespace and a table");
      }
      m.sources.push_back(StrCat(args[0], ".", args[1]));
    } else if (expr != "this") {
      return absl::InvalidArgumentError(
          StrCat("unknown template '{{ ", expr, " }}' (expected ref, source, config or this)"));
    }
    return std::string();
  };
  auto expanded = Expand(sql, visit);
  if (!expanded.ok()) return Annotate(expanded.status(), path);
  const std::string mat = m.materialized();
  if (mat != "view" && mat != "table" && mat != "incremental" && mat != "snapshot") {
    return absl::InvalidArgumentError(StrCat(
        path, ": materialized='", mat, "' is not one of view, table, incremental, snapshot"));
  }
  if (mat == "snapshot") {
    const std::string strategy = m.config.contains("strategy") ? m.config["strategy"] : "timestamp";
    if (!m.config.contains("unique_key") ||
        (strategy == "timestamp" && !m.config.contains("updated_at")) ||
        (strategy == "check" && !m.config.contains("check_cols")) ||
        (strategy != "timestamp" && strategy != "check")) {
      return absl::InvalidArgumentError(StrCat(
          path, ": a snapshot needs config(unique_key='id', strategy='timestamp', "
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

std::string Compile(const Model& model, const std::string& source_prefix) {
  auto replace = [&](std::string_view expr) -> StatusOr<std::string> {
    if (expr.starts_with("config")) return std::string();
    if (expr == "this") return StrCat(QuoteIdent(model.mart), ".", QuoteIdent(model.name));
    auto args = Arguments(expr, nullptr);
    if (!args.ok()) return args.status();
    if (expr.starts_with("ref")) {
      const std::string mart = args->size() == 2 ? (*args)[0] : model.mart;
      return StrCat(QuoteIdent(mart), ".", QuoteIdent(args->back()));
    }
    return StrCat(source_prefix, QuoteIdent((*args)[0]), ".", QuoteIdent((*args)[1]));
  };
  auto out = Expand(model.sql, replace);
  return out.ok() ? *out : model.sql;  // ParseModel already validated the templates
}

StatusOr<std::vector<Model>> DiscoverModels(const std::string& models_dir) {
  std::vector<Model> models;
  std::error_code ec;
  if (!fs::exists(models_dir, ec)) return models;
  for (const auto& mart : fs::directory_iterator(models_dir, ec)) {
    if (!mart.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(mart.path(), ec)) {
      const std::string ext = file.path().extension().string();
      if (ext != ".sql" && ext != ".yml") continue;
      std::ifstream in(file.path());
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string m_mart = mart.path().filename().string();
      const std::string m_name = file.path().stem().string();
      if (ext == ".yml") {  // a builder spec: one or more generated models
        WS_ASSIGN_OR_RETURN(auto built,
                            ExpandBuilder(m_mart, m_name, file.path().string(), ss.str()));
        for (auto& m : built) models.push_back(std::move(m));
        continue;
      }
      WS_ASSIGN_OR_RETURN(Model m, ParseModel(m_mart, m_name, file.path().string(), ss.str()));
      models.push_back(std::move(m));
    }
  }
  std::sort(models.begin(), models.end(),
            [](const Model& a, const Model& b) { return a.id() < b.id(); });
  return models;
}

}  // namespace watershed::transform
