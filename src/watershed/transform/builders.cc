// transform/builders.cc — see builders.h.
#include "watershed/transform/builders.h"

#include <yaml-cpp/yaml.h>

#include "watershed/base/config.h"

namespace watershed::transform {
namespace {

std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  return out + "\"";
}

std::string Col(const std::string& alias, const std::string& c) {
  return alias.empty() ? Q(c) : StrCat(alias, ".", Q(c));
}

// `stg_orgs` -> {{ ref('stg_orgs') }}; `crunchbase.organizations` -> {{ source(...) }}.
std::string From(const std::string& source) {
  size_t dot = source.find('.');
  if (dot == std::string::npos) return StrCat("{{ ref('", source, "') }}");
  return StrCat("{{ source('", source.substr(0, dot), "', '", source.substr(dot + 1), "') }}");
}

std::string Text(const std::string& alias, const std::string& c) {
  return StrCat("coalesce(CAST(", Col(alias, c), " AS VARCHAR), '')");
}

}  // namespace

std::string HashKeySql(const std::vector<std::string>& columns, const std::string& alias) {
  std::string inner;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) inner += " || '||' || ";
    inner += StrCat("upper(trim(", Text(alias, columns[i]), "))");
  }
  return StrCat("md5(", inner, ")");
}

StatusOr<std::vector<Model>> ExpandBuilder(const std::string& mart, const std::string& name,
                                           const std::string& path, const std::string& yaml) {
  WS_ASSIGN_OR_RETURN(YAML::Node spec, ParseYaml(yaml, path));
  auto str = [&](const char* key, const std::string& fallback = "") -> std::string {
    return spec[key] ? spec[key].as<std::string>() : fallback;
  };
  auto list = [&](const char* key) {
    std::vector<std::string> out;
    if (spec[key]) {
      for (const auto& v : spec[key]) out.push_back(v.as<std::string>());
    }
    return out;
  };
  auto need = [&](std::initializer_list<const char*> keys) -> Status {
    for (const char* k : keys) {
      if (!spec[k]) {
        return absl::InvalidArgumentError(
            StrCat(path, ": builder ", str("builder"), " needs '", k, "'"));
      }
    }
    return absl::OkStatus();
  };
  const std::string builder = str("builder");
  std::vector<Model> out;
  auto add = [&](const std::string& model_name, const std::string& sql) -> Status {
    WS_ASSIGN_OR_RETURN(Model m, ParseModel(mart, model_name, path, sql));
    out.push_back(std::move(m));
    return absl::OkStatus();
  };
  try {
    if (builder == "dimension") {
      WS_RETURN_IF_ERROR(need({"source", "business_key", "columns"}));
      const std::string bk = str("business_key");
      const std::vector<std::string> cols = list("columns");
      const std::string updated = str("updated_at");
      std::string select = Q(bk);
      for (const auto& c : cols) select += ", " + Q(c);
      if (!updated.empty()) select += ", " + Q(updated);
      const std::string history = name + "__history";
      std::string config =
          updated.empty()
              ? StrCat("{{ config(materialized='snapshot', unique_key='", bk,
                       "', strategy='check', check_cols='", [&] {
                         std::string c;
                         for (const auto& col : cols) c += (c.empty() ? "" : ",") + col;
                         return c;
                       }(), "') }}")
              : StrCat("{{ config(materialized='snapshot', unique_key='", bk,
                       "', strategy='timestamp', updated_at='", updated, "') }}");
      WS_RETURN_IF_ERROR(add(history, StrCat(config, "\nSELECT ", select, " FROM ",
                                             From(str("source")), " WHERE ", Q(bk),
                                             " IS NOT NULL")));
      std::string dim = StrCat("{{ config(materialized='table') }}\nSELECT md5(CAST(", Q(bk),
                               " AS VARCHAR) || '|' || CAST(valid_from AS VARCHAR)) AS ",
                               Q(name + "_sk"), ", ", Q(bk));
      std::string unknown = StrCat("SELECT '-1', NULL");
      for (const auto& c : cols) {
        dim += ", " + Q(c);
        unknown += ", NULL";
      }
      // The first version of a key is valid from the beginning of time, so facts older than
      // the first observation still find it.
      dim += StrCat(", CASE WHEN valid_from = min(valid_from) OVER (PARTITION BY ", Q(bk),
                    ") THEN CAST('1900-01-01 00:00:00' AS TIMESTAMP) ELSE valid_from END AS "
                    "valid_from, valid_to, is_current FROM {{ ref('", history, "') }}\nUNION ALL\n",
                    unknown, ", CAST('1900-01-01 00:00:00' AS TIMESTAMP), NULL, true");
      WS_RETURN_IF_ERROR(add(name, dim));
    } else if (builder == "fact") {
      WS_RETURN_IF_ERROR(need({"source", "columns"}));
      std::string select, joins;
      for (const auto& c : list("columns")) select += (select.empty() ? "" : ", ") + Col("f", c);
      int i = 0;
      if (spec["dimensions"]) {
        for (const auto& d : spec["dimensions"]) {
          const std::string dim = d["dimension"].as<std::string>();
          const std::string key = d["key"].as<std::string>();
          const std::string bk = d["business_key"] ? d["business_key"].as<std::string>() : key;
          const std::string alias = StrCat("d", ++i);
          select += StrCat(", coalesce(", alias, ".", Q(dim + "_sk"), ", '-1') AS ",
                           Q(dim + "_sk"));
          joins += StrCat("\nLEFT JOIN {{ ref('", dim, "') }} ", alias, " ON ", alias, ".",
                          Q(bk), " = f.", Q(key));
          if (d["at"]) {
            const std::string at = StrCat("CAST(f.", Q(d["at"].as<std::string>()), " AS TIMESTAMP)");
            joins += StrCat(" AND ", at, " >= ", alias, ".valid_from AND (", alias,
                            ".valid_to IS NULL OR ", at, " < ", alias, ".valid_to)");
          } else {
            joins += StrCat(" AND ", alias, ".is_current");
          }
        }
      }
      WS_RETURN_IF_ERROR(add(name, StrCat("{{ config(materialized='table') }}\nSELECT ", select,
                                          " FROM ", From(str("source")), " f", joins)));
    } else if (builder == "date_dimension") {
      const std::string start = str("start", "2000-01-01"), end = str("end", "2030-12-31");
      WS_RETURN_IF_ERROR(add(
          name,
          StrCat("{{ config(materialized='table') }}\nWITH RECURSIVE days(d) AS (SELECT CAST('",
                 start, "' AS DATE) UNION ALL SELECT CAST(d + INTERVAL '1 day' AS DATE) FROM days "
                 "WHERE d < CAST('", end, "' AS DATE))\nSELECT CAST(extract(year FROM d) * 10000 + "
                 "extract(month FROM d) * 100 + extract(day FROM d) AS INTEGER) AS date_key, d AS "
                 "date, CAST(extract(year FROM d) AS INTEGER) AS year, CAST(extract(quarter FROM d) "
                 "AS INTEGER) AS quarter, CAST(extract(month FROM d) AS INTEGER) AS month, "
                 "CAST(extract(day FROM d) AS INTEGER) AS day, CAST(extract(isodow FROM d) AS "
                 "INTEGER) AS day_of_week, extract(isodow FROM d) >= 6 AS is_weekend FROM days")));
    } else if (builder == "hub" || builder == "link") {
      std::vector<std::string> keys = builder == "hub" ? std::vector<std::string>{str("business_key")}
                                                       : list("business_keys");
      WS_RETURN_IF_ERROR(need({"source", builder == "hub" ? "business_key" : "business_keys"}));
      const std::string load = str("load_date");
      const std::string load_sql =
          load.empty() ? "CAST(current_timestamp AS TIMESTAMP)" : StrCat("CAST(", Q(load), " AS TIMESTAMP)");
      std::string select = StrCat(HashKeySql(keys), " AS ", Q(name + "_hk"));
      std::vector<std::string> hubs = list("hubs");
      for (size_t k = 0; builder == "link" && k < keys.size(); ++k) {
        const std::string hub = k < hubs.size() ? hubs[k] : keys[k];
        select += StrCat(", ", HashKeySql({keys[k]}), " AS ", Q(hub + "_hk"));
      }
      std::string group, not_null;
      for (const auto& k : keys) {
        select += ", " + Q(k);
        group += (group.empty() ? "" : ", ") + Q(k);
        not_null += (not_null.empty() ? "" : " AND ") + Q(k) + " IS NOT NULL";
      }
      WS_RETURN_IF_ERROR(add(
          name, StrCat("{{ config(materialized='incremental', unique_key='", name,
                       "_hk', incremental_strategy='append_new') }}\nSELECT ", select, ", min(",
                       load_sql, ") AS load_date, '", str("record_source", str("source")),
                       "' AS record_source FROM ", From(str("source")), " WHERE ", not_null,
                       " GROUP BY ", group)));
    } else if (builder == "satellite") {
      WS_RETURN_IF_ERROR(need({"source", "parent_key", "parent", "columns"}));
      const std::vector<std::string> cols = list("columns");
      const std::string key = str("parent_key");
      const std::string load = str("load_date");
      std::string hashdiff = StrCat("md5(", HashKeySql({key}));
      std::string select = StrCat(HashKeySql({key}), " AS ", Q(str("parent") + "_hk"));
      for (const auto& c : cols) {
        hashdiff += StrCat(" || '||' || ", Text("", c));
        select += ", " + Q(c);
      }
      hashdiff += ")";
      WS_RETURN_IF_ERROR(add(
          name, StrCat("{{ config(materialized='incremental', unique_key='hashdiff', "
                       "incremental_strategy='append_new') }}\nSELECT ", select, ", ", hashdiff,
                       " AS hashdiff, ",
                       load.empty() ? "CAST(current_timestamp AS TIMESTAMP)"
                                    : StrCat("CAST(", Q(load), " AS TIMESTAMP)"),
                       " AS load_date, '", str("record_source", str("source")),
                       "' AS record_source FROM ", From(str("source")), " WHERE ", Q(key),
                       " IS NOT NULL")));
    } else {
      return absl::InvalidArgumentError(StrCat(
          path, ": unknown builder '", builder,
          "' (expected dimension, fact, date_dimension, hub, link or satellite)"));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return out;
}

}  // namespace watershed::transform
