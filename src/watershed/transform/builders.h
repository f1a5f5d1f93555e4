// transform/builders.h — models written from short YAML specs: Kimball and Data Vault shapes.
//
// Owns: turning `models/<mart>/<name>.yml` (with a `builder:` key) into ordinary SQL models
// (docs/formats/models.md): `dimension` (an SCD2 history snapshot plus a dimension table with a
// hash surrogate key and an unknown-member row '-1'), `fact` (dimension keys looked up at the
// event's time; late-arriving members get '-1'), `date_dimension`, and the Data Vault `hub`
// (hash of the business key), `link` (hash of the keys), `satellite` (hashdiff, load_date,
// record_source; insert-only). The SQL is portable between DuckDB and PostgreSQL, and hash keys
// are md5 of upper(trim(text)) so the same business key hashes the same on every target.
// Does not own: running models (runner.h). Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/transform/model.h"

namespace watershed::transform {

// The models one spec file describes (usually one; `dimension` gives two).
StatusOr<std::vector<Model>> ExpandBuilder(const std::string& mart, const std::string& name,
                                           const std::string& path, const std::string& yaml);

// md5(upper(trim(CAST(<expr> AS VARCHAR)))) — the hash key of one business key; several keys
// are joined with '||' before hashing.
std::string HashKeySql(const std::vector<std::string>& columns, const std::string& alias = "");

}  // namespace watershed::transform
