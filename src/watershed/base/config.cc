// base/config.cc — the yaml-cpp adapter and ${VAR} interpolation. See config.h.
// No yaml-cpp exception leaves this file.
#include "watershed/base/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "watershed/base/log.h"
#include "watershed/base/secret_refs.h"
#include "watershed/base/strings.h"

namespace watershed {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string Location(std::string_view name, const YAML::Mark& mark, bool with_column) {
  std::string out(name);
  if (mark.is_null()) return out;
  out += ':' + std::to_string(mark.line + 1);
  if (with_column) out += ':' + std::to_string(mark.column + 1);
  return out;
}

Status InvalidAt(std::string_view name, const YAML::Mark& mark, bool with_column,
                 std::string_view message) {
  return absl::InvalidArgumentError(Location(name, mark, with_column) + ": " +
                                    std::string(message));
}

// Walks the tree once, interpolating every scalar in place. Nodes reachable twice through
// aliases are the same node: `visited` (start position and type) keeps them from being
// interpolated twice and keeps alias bombs linear.
class Interpolator {
 public:
  Interpolator(std::string_view name, const EnvLookup& getenv) : name_(name), getenv_(getenv) {}

  Status Walk(YAML::Node node) {
    if (!node.IsDefined() || node.IsNull()) return Status();
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null() &&
        !visited_.emplace(mark.pos, mark.line, mark.column, node.Type()).second) {
      return Status();
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (text.find('$') == std::string::npos) return Status();
        StatusOr<std::string> value = InterpolateEnv(text, getenv_);
        if (!value.ok())
          return InvalidAt(name_, mark, false, std::string(value.status().message()));
        if (*value != text) node = *value;
        return Status();
      }
      case YAML::NodeType::Sequence:
        for (YAML::Node child : node) WS_RETURN_IF_ERROR(Walk(child));
        return Status();
      case YAML::NodeType::Map:
        for (auto it = node.begin(); it != node.end(); ++it) {
          WS_RETURN_IF_ERROR(Walk(it->first));
          WS_RETURN_IF_ERROR(Walk(it->second));
        }
        return Status();
      default:
        return Status();
    }
  }

 private:
  std::string_view name_;
  const EnvLookup& getenv_;
  std::set<std::tuple<int, int, int, YAML::NodeType::value>> visited_;
};

}  // namespace

std::optional<std::string> RealGetenv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

StatusOr<std::string> ReadSecretFile(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("bad secret reference \"${file:}\": expected ${file:PATH}");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(StrCat("secret file ", path,
                                             " cannot be read: ", std::strerror(errno),
                                             " (check the path in ${file:...} and its owner)"));
  }
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!value.empty() && value.back() == '\n') value.pop_back();  // the file's last newline
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) {
    return absl::InvalidArgumentError(StrCat("secret file ", path, " is empty"));
  }
  RegisterSecret(value);  // never in a log, whatever key it lands in
  return value;
}

StatusOr<std::string> InterpolateEnv(std::string_view text, const EnvLookup& getenv) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    std::string_view rest = text.substr(dollar);
    if (rest.substr(0, 3) == "$${") {  // escaped: a literal "${"
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (rest.substr(0, 2) != "${") {  // a lone '$' is literal
      out += '$';
      i = dollar + 1;
      continue;
    }
    size_t close = text.find('}', dollar + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("unterminated \"${\" (write \"$${\" for a literal)");
    }
    std::string_view body = text.substr(dollar + 2, close - dollar - 2);
    if (body.substr(0, 5) == "file:") {  // ${file:PATH}: a secret kept in a file
      WS_ASSIGN_OR_RETURN(std::string secret, ReadSecretFile(std::string(body.substr(5))));
      out += secret;
      i = close + 1;
      continue;
    }
    // ${SCHEME:REF}: a secret store the program registered (base/secret_refs.h).
    if (std::optional<StatusOr<std::string>> stored = ResolveSecretReference(body)) {
      if (!stored->ok()) return stored->status();
      out += **stored;
      i = close + 1;
      continue;
    }
    size_t name_end = 0;
    while (name_end < body.size() && IsNameChar(body[name_end])) ++name_end;
    std::string_view var = body.substr(0, name_end);
    std::string_view tail = body.substr(name_end);
    if (var.empty() || !IsNameStart(var[0]) || (!tail.empty() && tail.substr(0, 2) != ":-")) {
      return absl::InvalidArgumentError("bad variable reference \"${" + std::string(body) +
                                        "}\": expected ${NAME}, ${NAME:-default}, ${file:PATH} "
                                        "or ${aws-secretsmanager:NAME}");
    }
    std::optional<std::string> value = getenv ? getenv(var) : std::nullopt;
    if (!tail.empty()) {  // ${VAR:-default}
      if (value.has_value() && !value->empty()) {
        out += *value;
      } else {
        out.append(tail.substr(2));
      }
    } else if (value.has_value()) {
      out += *value;
    } else {
      return absl::InvalidArgumentError("environment variable " + std::string(var) + " is not set");
    }
    i = close + 1;
  }
  return out;
}

Status CheckNoDuplicateKeys(const YAML::Node& root, std::string_view name) {
  // Iterative, and each node once: aliases share nodes, so an alias bomb stays linear.
  std::vector<YAML::Node> stack = {root};
  std::set<std::pair<int, int>> visited;  // (start position, type) of each map and sequence
  while (!stack.empty()) {
    YAML::Node node = stack.back();
    stack.pop_back();
    if (!node.IsMap() && !node.IsSequence()) continue;
    if (!visited.insert({node.Mark().pos, static_cast<int>(node.Type())}).second) continue;
    if (node.IsSequence()) {
      for (const YAML::Node& child : node) stack.push_back(child);
      continue;
    }
    std::map<std::string, int> lines;
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) {
        const std::string key = kv.first.Scalar();
        const int line = kv.first.Mark().line + 1;
        auto [it, inserted] = lines.emplace(key, line);
        if (!inserted) {
          return InvalidAt(name, kv.first.Mark(), false,
                           "key '" + key + "' is given twice (first on line " +
                               std::to_string(it->second) +
                               "); YAML keeps only one, so merge the two into one");
        }
      }
      stack.push_back(kv.second);
    }
  }
  return absl::OkStatus();
}

Status CheckKnownKeys(const YAML::Node& node, const std::vector<std::string>& known,
                      std::string_view where, std::string_view name) {
  if (!node || !node.IsMap()) return absl::OkStatus();
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string closest = ClosestMatch(key, known);
    return InvalidAt(name, kv.first.Mark(), false,
                     "unknown key '" + key + "' in " + std::string(where) +
                         (closest.empty() ? "" : " (did you mean '" + closest + "'?)") +
                         "; known keys: " + Join(known, ", "));
  }
  return absl::OkStatus();
}

StatusOr<YAML::Node> ParseYaml(std::string_view text, std::string_view name,
                               const EnvLookup& getenv) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    WS_RETURN_IF_ERROR(CheckNoDuplicateKeys(root, name));
    Interpolator interpolator(name, getenv);
    WS_RETURN_IF_ERROR(interpolator.Walk(root));
    return root;
  } catch (const YAML::Exception& e) {
    return InvalidAt(name, e.mark, true, e.msg);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string(name) + ": " + e.what());
  } catch (...) {
    return absl::InvalidArgumentError(std::string(name) + ": unknown error while reading YAML");
  }
}

StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const EnvLookup& getenv) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    return Status(absl::ErrnoToStatusCode(error),
                  "cannot open " + path + ": " + std::strerror(error));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return absl::DataLossError("cannot read " + path);
  return ParseYaml(contents.str(), path, getenv);
}

}  // namespace watershed
