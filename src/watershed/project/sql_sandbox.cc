// project/sql_sandbox.cc — see sql_sandbox.h.
#include "watershed/project/sql_sandbox.h"

#include <filesystem>

namespace watershed::project {

std::vector<std::string> UserSqlDirectories(const Project& project) {
  return {project.storage().LocalReadRoot(),
          (std::filesystem::path(project.root()) / "marts").lexically_normal().string()};
}

std::string SandboxHint(const Project& project) {
  const std::vector<std::string> dirs = UserSqlDirectories(project);
  return StrCat(
      "SQL in this project runs in a sandbox: external file access is disabled, so it "
      "may read and write files only in the lake (",
      dirs[0], ") and the marts (", dirs[1],
      "), and it cannot change DuckDB's settings. To let SQL reach other files, set "
      "`sql: {sandbox: false}` in ",
      (std::filesystem::path(project.root()) / kProjectFile).string(),
      " (docs/formats/project.md).");
}

Status SandboxUserSql(const Project& project, warehouse::Database& db) {
  if (!project.config().sql_sandbox) return absl::OkStatus();
  return db.RestrictFileAccess(UserSqlDirectories(project), SandboxHint(project));
}

}  // namespace watershed::project
