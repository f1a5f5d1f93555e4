// base/redact.cc — credential names, URL and free-text redaction. See redact.h.
#include "watershed/base/redact.h"

#include <array>
#include <cctype>
#include <vector>

#include "watershed/base/strings.h"

namespace watershed {
namespace {

constexpr std::array<std::string_view, 13> kCredentialWords = {
    "token", "secret", "password", "passwd",     "passphrase", "pwd",   "signature",
    "sig",   "key",    "auth",     "credential", "session",    "cookie"};

constexpr std::array<std::string_view, 10> kWebhookHosts = {
    "hooks.slack.com",    "discord.com",           "discordapp.com",   "webhook.office.com",
    "outlook.office.com", "outlook.office365.com", "hooks.zapier.com", "webhook.site",
    "api.telegram.org",   "maker.ifttt.com"};

// Authentication schemes RedactHeader keeps in front of the redacted credentials.
constexpr std::array<std::string_view, 6> kAuthSchemes = {
    "bearer", "basic", "digest", "token", "negotiate", "aws4-hmac-sha256"};

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool IsSchemeChar(char c) { return IsAlnum(c) || c == '+' || c == '-' || c == '.'; }
// Characters of the name in `name=value`.
bool IsPairNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; }
// Characters of the name in `Name: value`.
bool IsHeaderNameChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
// Characters of a bearer token (RFC 6750 b64token).
bool IsTokenChar(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=';
}
// Where a URL inside free text ends.
bool EndsUrl(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7F || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}
// Where an unquoted value of `name=value` ends.
bool EndsPairValue(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7F || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'' ||
         c == ')' || c == ']' || c == '}' || c == '<' || c == '>';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `s` with %XX sequences decoded (a parameter name may be percent-encoded: access%5Ftoken).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// A path segment that looks like a secret: 16+ characters of [A-Za-z0-9_~-], a letter and a
// digit among them.
bool LooksLikeSecretSegment(std::string_view segment) {
  if (segment.size() < 16) return false;
  bool letter = false, digit = false;
  for (char c : segment) {
    if (IsAlpha(c)) {
      letter = true;
    } else if (IsDigit(c)) {
      digit = true;
    } else if (c != '_' && c != '~' && c != '-') {
      return false;
    }
  }
  return letter && digit;
}

bool IsWebhookHost(std::string_view host) {
  for (std::string_view known : kWebhookHosts) {
    if (host == known) return true;
    if (host.size() > known.size() && host.ends_with(known) &&
        host[host.size() - known.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

// The lower-cased host of `host_port` ("[::1]:80" -> "[::1]", "H:8080" -> "h").
std::string HostOf(std::string_view host_port) {
  if (host_port.starts_with('[')) {
    size_t close = host_port.find(']');
    return ToLower(
        host_port.substr(0, close == std::string_view::npos ? host_port.size() : close + 1));
  }
  return ToLower(host_port.substr(0, host_port.find(':')));
}

// `path` ("/a/b/c", possibly empty) of an http(s) URL on `host`, redacted by the path rule.
std::string RedactPath(std::string_view host, std::string_view path) {
  if (path.size() <= 1) return std::string(path);
  std::vector<std::string_view> segments;
  std::string_view rest = path.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  bool secret = IsWebhookHost(host) && segments.size() > 1;
  for (std::string_view s : segments) secret = secret || LooksLikeSecretSegment(s);
  if (!secret) return std::string(path);
  if (LooksLikeSecretSegment(segments[0])) return StrCat("/", kRedacted);
  if (segments.size() == 1) return StrCat("/", segments[0]);
  return StrCat("/", segments[0], "/", kRedacted);
}

// `params` ("a=1&token=x", a query or fragment without its '?' / '#') with the values of
// credential parameters redacted.
std::string RedactParams(std::string_view params) {
  std::string out;
  out.reserve(params.size());
  while (true) {
    size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && IsCredentialName(PercentDecode(param.substr(0, eq)))) {
      out.append(param.substr(0, eq + 1)).append(kRedacted);
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    params.remove_prefix(amp + 1);
  }
  return out;
}

// Length of the URL starting at text[i] ("scheme://..." up to EndsUrl, without trailing
// punctuation), or 0 when none does. A URL starts a word: the character before it is not a
// scheme character.
size_t UrlLengthAt(std::string_view text, size_t i) {
  if (!IsAlpha(text[i]) || (i > 0 && IsSchemeChar(text[i - 1]))) return 0;
  size_t j = i;
  while (j < text.size() && IsSchemeChar(text[j])) ++j;
  if (text.substr(j, 3) != "://") return 0;
  size_t k = j + 3;
  while (k < text.size() && !EndsUrl(text[k])) ++k;
  // Punctuation closing a sentence or a clause is not part of the URL: "GET https://h/p: HTTP 503".
  while (k > j + 3 && std::string_view(".,;:!?)]}").find(text[k - 1]) != std::string_view::npos) {
    --k;
  }
  return k - i;
}

// Appends the redacted value that starts at text[j] (after `name=` or `"name": `) to `out`
// and returns where the value ends. A quoted value ('...' or "...", backslash escapes
// honoured) keeps its quotes; an unquoted one runs to EndsPairValue. Nothing to redact: j.
size_t AppendRedactedValue(std::string_view text, size_t j, std::string& out) {
  if (j >= text.size()) return j;
  const char q = text[j];
  if (q == '"' || q == '\'') {
    size_t k = j + 1;
    while (k < text.size() && text[k] != q) k += text[k] == '\\' ? 2 : 1;
    out.push_back(q);
    out.append(kRedacted);
    if (k >= text.size()) return text.size();  // unclosed: the rest is the value
    out.push_back(q);
    return k + 1;
  }
  size_t k = j;
  while (k < text.size() && !EndsPairValue(text[k])) ++k;
  if (k == j) return j;
  out.append(kRedacted);
  return k;
}

// The name of the `name=` or `Name:` ending just before text[i], scanning back to `floor`.
std::string_view NameBefore(std::string_view text, size_t i, size_t floor, bool (*is_char)(char)) {
  size_t start = i;
  while (start > floor && is_char(text[start - 1])) --start;
  return text.substr(start, i - start);
}

// A header-like name: hyphenated ("X-Api-Key", "set-cookie"), one capitalised word
// ("Authorization", "Token"), or authorization/cookie in any case. Not a prose word ("token:")
// and not an error code in CamelCase ("SignatureDoesNotMatch: ...", "ExpiredTokenException:").
bool LooksLikeHeaderName(std::string_view name) {
  if (name.empty() || !IsAlpha(name[0])) return false;
  if (name.find('-') != std::string_view::npos) return true;
  if (EqualsIgnoreCase(name, "authorization") || EqualsIgnoreCase(name, "cookie")) return true;
  if (!std::isupper(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name.substr(1)) {
    if (std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// At text[i] == ':': true when a quoted credential name ends just before it (`"token": "x"`,
// `'token':'x'`), not reaching back past `floor`.
bool QuotedCredentialNameBefore(std::string_view text, size_t i, size_t floor) {
  size_t end = i;
  while (end > floor && IsSpace(text[end - 1])) --end;
  if (end - floor < 3) return false;
  const char q = text[end - 1];
  if (q != '"' && q != '\'') return false;
  size_t open = text.rfind(q, end - 2);
  if (open == std::string_view::npos || open < floor) return false;
  std::string_view name = text.substr(open + 1, end - 2 - open);
  if (name.empty() || name.size() > 64) return false;
  return IsCredentialName(name);
}

}  // namespace

bool IsCredentialName(std::string_view name) {
  if (name.size() < 3) return false;
  const std::string lower = ToLower(name);
  for (std::string_view word : kCredentialWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string RedactHeader(std::string_view name, std::string_view value) {
  if (value.empty() || !IsCredentialName(name)) return std::string(value);
  std::string_view trimmed = Trim(value);
  size_t space = trimmed.find_first_of(" \t");
  if (space != std::string_view::npos) {
    std::string_view scheme = trimmed.substr(0, space);
    for (std::string_view known : kAuthSchemes) {
      if (EqualsIgnoreCase(scheme, known)) return StrCat(scheme, " ", kRedacted);
    }
  }
  return std::string(kRedacted);
}

std::string RedactUrl(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  size_t pos = 0;
  std::string scheme, host;
  if (size_t sep = url.find("://"); sep != std::string_view::npos && sep > 0 && IsAlpha(url[0])) {
    bool valid = true;
    for (size_t i = 0; i < sep; ++i) valid = valid && IsSchemeChar(url[i]);
    if (valid) {
      scheme = ToLower(url.substr(0, sep));
      out.append(url.substr(0, sep + 3));
      pos = sep + 3;
      size_t authority_end = url.find_first_of("/?#", pos);
      if (authority_end == std::string_view::npos) authority_end = url.size();
      std::string_view authority = url.substr(pos, authority_end - pos);
      if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
        out.append(kRedacted).push_back('@');
        authority.remove_prefix(at + 1);
      }
      out.append(authority);
      host = HostOf(authority);
      pos = authority_end;
    }
  }
  size_t path_end = url.find_first_of("?#", pos);
  if (path_end == std::string_view::npos) path_end = url.size();
  std::string_view path = url.substr(pos, path_end - pos);
  const bool web = scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss";
  if (web) {
    out.append(RedactPath(host, path));
  } else {
    out.append(path);
  }
  pos = path_end;
  if (pos < url.size() && url[pos] == '?') {
    size_t query_end = url.find('#', pos);
    if (query_end == std::string_view::npos) query_end = url.size();
    out.push_back('?');
    out.append(RedactParams(url.substr(pos + 1, query_end - pos - 1)));
    pos = query_end;
  }
  if (pos < url.size()) {  // '#' fragment: redacted like a query (#access_token=... in OAuth)
    out.push_back('#');
    out.append(RedactParams(url.substr(pos + 1)));
  }
  return out;
}

std::string RedactCredentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t floor = 0;  // text before this was replaced or consumed: no name reaches back past it
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (IsAlpha(c)) {
      if (size_t length = UrlLengthAt(text, i); length > 0) {
        out.append(RedactUrl(text.substr(i, length)));
        i = floor = i + length;
        continue;
      }
      // Bearer <token>
      if ((i == 0 || !IsAlnum(text[i - 1])) && EqualsIgnoreCase(text.substr(i, 6), "bearer")) {
        size_t j = i + 6;
        while (j < text.size() && IsSpace(text[j])) ++j;
        size_t k = j;
        while (k < text.size() && IsTokenChar(text[k])) ++k;
        if (j > i + 6 && k > j) {
          out.append(text.substr(i, j - i)).append(kRedacted);
          i = floor = k;
          continue;
        }
      }
    } else if (c == '=') {
      std::string_view name = NameBefore(text, i, floor, &IsPairNameChar);
      const size_t name_start = i - name.size();
      const bool in_path = name_start > 0 && text[name_start - 1] == '/';
      if (!name.empty() && !in_path && IsCredentialName(name)) {
        out.push_back('=');
        i = floor = AppendRedactedValue(text, i + 1, out);
        continue;
      }
    } else if (c == ':') {
      if (QuotedCredentialNameBefore(text, i, floor)) {
        size_t j = i + 1;
        while (j < text.size() && IsSpace(text[j])) ++j;
        if (j < text.size() && (text[j] == '"' || text[j] == '\'')) {
          out.append(text.substr(i, j - i));
          i = floor = AppendRedactedValue(text, j, out);
          continue;
        }
      }
      std::string_view name = NameBefore(text, i, floor, &IsHeaderNameChar);
      const size_t name_start = i - name.size();
      const bool starts_word = name_start == 0 || IsSpace(text[name_start - 1]) ||
                               text[name_start - 1] == '\n' || text[name_start - 1] == '"' ||
                               text[name_start - 1] == '{' || text[name_start - 1] == ',' ||
                               text[name_start - 1] == ';' || text[name_start - 1] == '(';
      if (starts_word && LooksLikeHeaderName(name) && IsCredentialName(name)) {
        size_t j = i + 1;
        while (j < text.size() && IsSpace(text[j])) ++j;
        size_t k = j;
        while (k < text.size() && text[k] != '\n' && text[k] != '\r' && text[k] != '"') ++k;
        if (k > j) {
          out.append(text.substr(i, j - i)).append(RedactHeader(name, text.substr(j, k - j)));
          i = floor = k;
          continue;
        }
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace watershed
