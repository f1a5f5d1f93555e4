// project/sql_sandbox.h — which files user SQL may touch, and shutting DuckDB in to them.
//
// Owns: the project's policy for SQL it did not write (`watershed query`, models, custom SQL
// checks): with `sql: {sandbox: true}` (the default) a DuckDB database running such SQL may
// read, write and attach files only under the lake folder and the marts folder (where lake
// views, marts and their staging copies live), and its configuration is locked; the error a
// refused statement carries names the setting to opt out. Does not own: the mechanism
// (warehouse/duckdb/database.h RestrictFileAccess) or PostgreSQL marts (their own server's
// permissions apply). docs/formats/project.md documents the setting.
// Thread safety: as Database::RestrictFileAccess (call before the database is shared).
#pragma once

#include <string>
#include <vector>

#include "watershed/base/status.h"
#include "watershed/project/project.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::project {

// The folders user SQL may reach: the lake and <root>/marts (absolute).
std::vector<std::string> UserSqlDirectories(const Project& project);

// What a refused statement's error adds: why, and the setting that lifts it.
std::string SandboxHint(const Project& project);

// Restricts `db` to UserSqlDirectories when the project's sandbox is on; a no-op when off.
// Call after everything the platform itself attaches and reads from elsewhere is in place.
Status SandboxUserSql(const Project& project, warehouse::Database& db);

}  // namespace watershed::project
