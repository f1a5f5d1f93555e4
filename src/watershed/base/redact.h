// base/redact.h — the one rule set for secrets in text Watershed writes: logs, run logs, error
// messages, the audit log.
//
// Owns: which names are credentials (query parameters, HTTP headers, key=value and JSON keys,
// settings), how a URL is made safe to print, and how free text is scrubbed by those rules.
// base/log.h applies RedactCredentials to every log line (after the registered secrets); net/
// uses IsCredentialName for headers and query parameters; cli/ applies it to the errors it
// prints. docs/formats/logs.md lists the same rules for users.
//
// Credential names: a name is a credential when it contains, ignoring ASCII case, one of
//   token, secret, password, passwd, passphrase, pwd, signature, sig, key, auth, credential,
//   session, cookie
// which covers access_token, api_key, user_key, X-Amz-Signature, X-Amz-Credential,
// X-Amz-Security-Token, Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-API-Key and
// X-Cb-User-Key. Containment is deliberate: a false positive (`monkey=***`, `author=***`) only
// hides a value, a missed credential leaks one.
//
// URLs (RedactUrl):
//   - user-info is replaced whole: `https://u:p@host/` -> `https://***@host/` (a user name can
//     be a token too, e.g. `https://<token>@github.com`);
//   - query and fragment parameters whose name is a credential keep the name, lose the value:
//     `?access_token=abc&x=1` -> `?access_token=***&x=1`;
//   - paths of http, https, ws and wss URLs: when a segment looks like a secret (16 or more
//     characters of [A-Za-z0-9_~-] with at least one letter and one digit: a token, a hex or
//     base64url key, a UUID) or the host is a known webhook host (hooks.slack.com, discord.com,
//     discordapp.com, webhook.office.com, outlook.office.com, outlook.office365.com,
//     hooks.zapier.com, webhook.site, api.telegram.org, maker.ifttt.com, and their subdomains),
//     the path keeps its first segment and the rest becomes `/***`
//     (`https://hooks.slack.com/services/T0/B0/XXXX` -> `https://hooks.slack.com/services/***`);
//     a first segment that itself looks like a secret becomes `***` too. Segments with a dot
//     (file names) or `=` (partitions) never look like secrets. Other schemes (s3://, file://,
//     postgres://) keep their paths: they name files, not capabilities.
//   scheme, host and port always stay.
// Free text (RedactCredentials):
//   - URLs inside the text, by the URL rules (a URL runs from its scheme to the first space,
//     quote, `<`, `>` or backtick, less trailing `.,;:!?)]}`);
//   - `name=value` and `name="value"` pairs whose name is a credential (not when the name
//     follows a `/`: that is a path segment such as `session_date=2026-11-24/`);
//   - `"name": "value"` and `'name': 'value'` (JSON, Python) pairs whose name is a credential;
//   - header lines `Name: value` whose name is a credential and looks like a header (has a
//     `-`, is one capitalised word, or is authorization/cookie in any case — not a prose
//     `token:` nor a CamelCase error code like `SignatureDoesNotMatch:`); the value runs to the
//     end of the line or a `"` and is rendered by RedactHeader;
//   - `Bearer <token>`.
// Every rule is idempotent: redacting twice changes nothing.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace watershed {

// What every redacted value becomes.
inline constexpr std::string_view kRedacted = "***";

// True when `name` names a credential (see the list above).
bool IsCredentialName(std::string_view name);

// `value` as it may be printed for the header `name`: unchanged unless IsCredentialName(name);
// then "***", keeping a leading authentication scheme ("Bearer ***", "Basic ***",
// "AWS4-HMAC-SHA256 ***"). An empty value stays empty.
std::string RedactHeader(std::string_view name, std::string_view value);

// `url` safe to print by the URL rules above. Text that is not a URL passes through with only
// its query parameters redacted.
std::string RedactUrl(std::string_view url);

// `text` with URLs, credential pairs, credential headers and bearer tokens redacted by the
// rules above. Does not know the registered secrets: RedactSecrets (log.h) adds those.
std::string RedactCredentials(std::string_view text);

}  // namespace watershed
