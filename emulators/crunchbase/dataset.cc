// emulators/crunchbase/dataset.cc — see dataset.h.
//
// Layout: helpers (hashing, dates, JSON writing, slugs) -> reference tables (categories,
// locations, names) -> entity structs -> generation -> field tables -> cards -> Dataset methods
// and Mutate. Entities are compact structs; every JSON fragment is rendered on demand by the
// field tables, so generation stays fast and memory small (about 1 KB per organization including
// its people, rounds and investments).
// Over 600 lines on purpose: one generator whose reference tables, entity structs and field
// tables must agree with each other; split, they would have to be kept in step across files.
#include "emulators/crunchbase/dataset.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "watershed/base/columns.h"
#include "watershed/base/strings.h"

namespace watershed::emulators::crunchbase {

// ---------------------------------------------------------------------------------------------
// Helpers.

namespace {

constexpr int32_t kNoDate = INT32_MIN;
constexpr int64_t kDay = 86400;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Hash3(uint64_t a, uint64_t b, uint64_t c) { return Mix(Mix(Mix(a) ^ b) ^ c); }

uint64_t HashString(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return Mix(h);
}

// Streams keep each kind of entity's randomness independent of the others.
enum Stream : uint64_t {
  kStreamOrg = 1,
  kStreamPerson,
  kStreamRound,
  kStreamInvestment,
  kStreamAcquisition,
  kStreamAddress,
  kStreamRank,
  kStreamDeleted,
  kStreamMutation,
  kStreamAcquisitionPick,
  kStreamUuid = 100,
};

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  Rng(uint64_t seed, uint64_t stream, uint64_t index) : state_(Hash3(seed, stream, index)) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    if (hi <= lo) return lo;
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  bool Chance(double p) { return Unit() < p; }

 private:
  uint64_t state_;
};

Uuid MakeUuid(uint64_t seed, uint64_t stream, uint64_t index) {
  return Uuid{Hash3(seed, kStreamUuid + stream * 2, index),
              Hash3(seed, kStreamUuid + stream * 2 + 1, index)};
}

// Civil dates: DaysFromCivil / CivilFromDays from watershed/base/columns.h.

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void AppendDigits(std::string* out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  bool neg = v < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (n < width) buf[n++] = '0';
  if (neg) out->push_back('-');
  while (n > 0) out->push_back(buf[--n]);
}

void AppendDate(std::string* out, int64_t seconds) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(FloorDiv(seconds, kDay), &y, &m, &d);
  AppendDigits(out, y, 4);
  out->push_back('-');
  AppendDigits(out, m, 2);
  out->push_back('-');
  AppendDigits(out, d, 2);
}

void AppendTimestamp(std::string* out, int64_t seconds) {
  AppendDate(out, seconds);
  int64_t s = seconds - FloorDiv(seconds, kDay) * kDay;
  out->push_back('T');
  AppendDigits(out, s / 3600, 2);
  out->push_back(':');
  AppendDigits(out, (s / 60) % 60, 2);
  out->push_back(':');
  AppendDigits(out, s % 60, 2);
  out->push_back('Z');
}

int64_t DateSeconds(int y, unsigned m, unsigned d) { return DaysFromCivil(y, m, d) * kDay; }

// The time window the data lives in.
const int64_t kEpoch2015 = DateSeconds(2015, 1, 1);
const int64_t kEnd2025 = DateSeconds(2025, 12, 31) + kDay - 1;

// Lowercase ASCII slug; common Latin letters with diacritics are transliterated, other
// non-ASCII characters are dropped.
std::string Slugify(std::string_view s) {
  static const std::pair<std::string_view, std::string_view> kTranslit[] = {
      {"á", "a"},  {"à", "a"},  {"ä", "a"}, {"å", "a"}, {"Å", "a"}, {"ã", "a"}, {"â", "a"},
      {"é", "e"},  {"è", "e"},  {"ë", "e"}, {"ê", "e"}, {"É", "e"}, {"í", "i"}, {"ï", "i"},
      {"ó", "o"},  {"ö", "o"},  {"ø", "o"}, {"Ø", "o"}, {"ô", "o"}, {"Ö", "o"}, {"ú", "u"},
      {"ü", "u"},  {"Ü", "u"},  {"û", "u"}, {"ñ", "n"}, {"Ñ", "n"}, {"ç", "c"}, {"ß", "ss"},
      {"æ", "ae"}, {"Æ", "ae"}, {"ł", "l"}, {"Ł", "l"}, {"ź", "z"}, {"ż", "z"}, {"Š", "s"},
      {"š", "s"},  {"č", "c"},  {"ř", "r"}, {"ě", "e"}, {"ý", "y"}, {"ő", "o"}, {"ó", "o"},
  };
  std::string out;
  bool dash = false;
  auto push = [&](char c) {
    if (dash && !out.empty()) out.push_back('-');
    dash = false;
    out.push_back(c);
  };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') {
        push(static_cast<char>(c - 'A' + 'a'));
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        push(static_cast<char>(c));
      } else if (c != '\'') {
        dash = true;
      }
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    std::string_view ch = s.substr(i, len);
    for (const auto& [from, to] : kTranslit) {
      if (ch == from) {
        for (char t : to) push(t);
        break;
      }
    }
    i += len;
  }
  return out;
}

std::string ImageId(const Uuid& uuid) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  uint64_t h = Mix(uuid.lo ^ 0x1234567);
  for (int i = 0; i < 20; ++i) {
    if (i == 10) h = Mix(h);
    out.push_back(kAlphabet[h % 36]);
    h /= 36;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public helpers.

std::string_view CollectionName(Collection c) {
  switch (c) {
    case Collection::kOrganizations:
      return "organizations";
    case Collection::kPeople:
      return "people";
    case Collection::kFundingRounds:
      return "funding_rounds";
    case Collection::kInvestments:
      return "investments";
    case Collection::kAcquisitions:
      return "acquisitions";
    case Collection::kAddresses:
      return "addresses";
  }
  return "";
}

std::string_view EntityDefId(Collection c) {
  switch (c) {
    case Collection::kOrganizations:
      return "organization";
    case Collection::kPeople:
      return "person";
    case Collection::kFundingRounds:
      return "funding_round";
    case Collection::kInvestments:
      return "investment";
    case Collection::kAcquisitions:
      return "acquisition";
    case Collection::kAddresses:
      return "address";
  }
  return "";
}

std::optional<Collection> ParseCollection(std::string_view name) {
  for (int i = 0; i < kNumCollections; ++i) {
    auto c = static_cast<Collection>(i);
    if (name == CollectionName(c) || name == EntityDefId(c)) return c;
  }
  return std::nullopt;
}

std::string Uuid::ToString() const {
  std::string out;
  AppendTo(&out);
  return out;
}

void Uuid::AppendTo(std::string* out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[36];
  int n = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[n++] = '-';
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    buf[n++] = kHex[(word >> shift) & 0xF];
  }
  out->append(buf, 36);
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid u;
  int nibbles = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    uint64_t& word = nibbles < 16 ? u.hi : u.lo;
    word = (word << 4) | static_cast<uint64_t>(v);
    ++nibbles;
  }
  return u;
}

std::string FormatTimestamp(int64_t seconds) {
  std::string out;
  AppendTimestamp(&out, seconds);
  return out;
}

std::string FormatDate(int64_t seconds) {
  std::string out;
  AppendDate(&out, seconds);
  return out;
}

std::optional<int64_t> ParseTimestamp(std::string_view t) {
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > t.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0;
  if (!digits(0, 4, &y)) return std::nullopt;
  if (t.size() == 4) return DateSeconds(y, 1, 1);
  if (t.size() < 10 || t[4] != '-' || t[7] != '-' || !digits(5, 2, &mo) || !digits(8, 2, &d)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  if (t.size() > 10) {
    if ((t[10] != 'T' && t[10] != ' ') || t.size() < 19 || !digits(11, 2, &h) || t[13] != ':' ||
        !digits(14, 2, &mi) || t[16] != ':' || !digits(17, 2, &s)) {
      return std::nullopt;
    }
    std::string_view rest = t.substr(19);
    if (!rest.empty() && rest[0] == '.') {
      size_t k = 1;
      while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9') ++k;
      rest = rest.substr(k);
    }
    if (!rest.empty() && rest != "Z" && rest != "+00:00" && rest != "+0000") return std::nullopt;
  }
  return DateSeconds(y, mo, d) + h * 3600 + mi * 60 + s;
}

void AppendJsonString(std::string* out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(v.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(v.data() + start, v.size() - start);
  out->push_back('"');
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (need_comma_[depth_]) out_->push_back(',');
  need_comma_[depth_] = true;
}
void JsonWriter::BeginObject() {
  Separate();
  out_->push_back('{');
  need_comma_[++depth_] = false;
}
void JsonWriter::EndObject() {
  out_->push_back('}');
  --depth_;
}
void JsonWriter::BeginArray() {
  Separate();
  out_->push_back('[');
  need_comma_[++depth_] = false;
}
void JsonWriter::EndArray() {
  out_->push_back(']');
  --depth_;
}
void JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_->push_back(':');
  after_key_ = true;
}
void JsonWriter::String(std::string_view value) {
  Separate();
  AppendJsonString(out_, value);
}
void JsonWriter::Int(int64_t value) {
  Separate();
  AppendDigits(out_, value, 1);
}
void JsonWriter::Double(double value) {
  Separate();
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    AppendDigits(out_, static_cast<int64_t>(value), 1);
  } else if (std::isfinite(value)) {
    fmt::format_to(std::back_inserter(*out_), "{}", value);
  } else {
    out_->append("0");
  }
}
void JsonWriter::Bool(bool value) {
  Separate();
  out_->append(value ? "true" : "false");
}
void JsonWriter::Raw(std::string_view json) {
  Separate();
  out_->append(json);
}

// ---------------------------------------------------------------------------------------------
// Reference tables.

namespace {

struct StaticIdent {
  std::string uuid;
  std::string value;
  std::string permalink;
  std::string json;  // the serialized identifier object
};

struct CityRow {
  const char* city;
  const char* region;
  const char* country;
  const char* continent;
};

constexpr CityRow kCities[] = {
    {"San Francisco", "California", "United States", "North America"},
    {"New York", "New York", "United States", "North America"},
    {"Austin", "Texas", "United States", "North America"},
    {"Boston", "Massachusetts", "United States", "North America"},
    {"Seattle", "Washington", "United States", "North America"},
    {"Palo Alto", "California", "United States", "North America"},
    {"Menlo Park", "California", "United States", "North America"},
    {"Toronto", "Ontario", "Canada", "North America"},
    {"Mexico City", "Distrito Federal", "Mexico", "North America"},
    {"London", "England", "United Kingdom", "Europe"},
    {"Berlin", "Berlin", "Germany", "Europe"},
    {"München", "Bayern", "Germany", "Europe"},
    {"Paris", "Ile-de-France", "France", "Europe"},
    {"Zürich", "Zurich", "Switzerland", "Europe"},
    {"Stockholm", "Stockholms Lan", "Sweden", "Europe"},
    {"Amsterdam", "Noord-Holland", "The Netherlands", "Europe"},
    {"Kraków", "Malopolskie", "Poland", "Europe"},
    {"Tel Aviv", "Tel Aviv", "Israel", "Asia"},
    {"Bangalore", "Karnataka", "India", "Asia"},
    {"Beijing", "Beijing", "China", "Asia"},
    {"Shanghai", "Shanghai", "China", "Asia"},
    {"Tokyo", "Tokyo", "Japan", "Asia"},
    {"Seoul", "Seoul-t'ukpyolsi", "South Korea", "Asia"},
    {"Singapore", "Central Region", "Singapore", "Asia"},
    {"Sydney", "New South Wales", "Australia", "Oceania"},
    {"São Paulo", "Sao Paulo", "Brazil", "South America"},
    {"Lagos", "Lagos", "Nigeria", "Africa"},
    {"Nairobi", "Nairobi Area", "Kenya", "Africa"},
};
constexpr int kNumCities = sizeof(kCities) / sizeof(kCities[0]);

constexpr const char* kCategories[] = {
    "Software",
    "Artificial Intelligence",
    "Machine Learning",
    "FinTech",
    "Health Care",
    "Biotechnology",
    "E-Commerce",
    "Marketplace",
    "SaaS",
    "Enterprise Software",
    "Mobile Apps",
    "Internet",
    "Information Technology",
    "Cyber Security",
    "Blockchain",
    "Cryptocurrency",
    "Education",
    "EdTech",
    "Real Estate",
    "Food and Beverage",
    "Logistics",
    "Transportation",
    "Clean Energy",
    "Renewable Energy",
    "Gaming",
    "Media and Entertainment",
    "Advertising",
    "Marketing",
    "Retail",
    "Fashion",
    "Travel",
    "Hospitality",
    "Robotics",
    "Hardware",
    "Semiconductor",
    "Manufacturing",
    "Agriculture",
    "Insurance",
    "Payments",
    "Analytics",
    "Big Data",
    "Cloud Computing",
    "Developer Tools",
    "Social Media",
    "Consumer Electronics",
    "Medical Device",
    "Pharmaceutical",
    "Telecommunications",
    "Automotive",
    "Aerospace",
};
constexpr int kNumCategories = sizeof(kCategories) / sizeof(kCategories[0]);

constexpr const char* kSyllables[] = {
    "ka",  "lo", "mi",  "ra", "ve", "tor", "zen", "qua", "nex", "vi", "sol", "tri",
    "lum", "br", "dex", "ar", "on", "el",  "is",  "ta",  "no",  "mo", "fy",  "ly",
    "pi",  "xo", "ri",  "co", "sa", "um",  "ber", "gen", "hal", "ix", "jun", "kor",
};
constexpr int kNumSyllables = sizeof(kSyllables) / sizeof(kSyllables[0]);

constexpr const char* kOrgSuffixes[] = {
    "",       " Labs",      " AI",       " Technologies", " Health",   " Systems", " Robotics",
    " Bio",   " Analytics", ".io",       " Energy",       " Networks", " Foods",   " Studio",
    " Cloud", " Mobility",  " Security", " Pay",          "",          "",
};
constexpr const char* kInvestorSuffixes[] = {" Capital", " Ventures", " Partners", " Fund",
                                             " Investments"};
// Organization names that start with a non-ASCII word (about 6% of them).
constexpr const char* kNonAsciiWords[] = {"Café", "Søren", "Zürich", "Ångström", "Über", "Núcleo",
                                          "Łódź", "Grün",  "北京",   "東京",     "Ærø",  "Crème"};

struct FirstName {
  const char* name;
  const char* gender;
};
constexpr FirstName kFirstNames[] = {
    {"Anna", "female"},   {"José", "male"},     {"Zoë", "female"},    {"Björn", "male"},
    {"Łukasz", "male"},   {"François", "male"}, {"Søren", "male"},    {"Chloé", "female"},
    {"Jürgen", "male"},   {"Maria", "female"},  {"Wei", "male"},      {"Priya", "female"},
    {"Kenji", "male"},    {"Amara", "female"},  {"Olga", "female"},   {"David", "male"},
    {"Sarah", "female"},  {"Michael", "male"},  {"Emily", "female"},  {"Daniel", "male"},
    {"Laura", "female"},  {"Ahmed", "male"},    {"Fatima", "female"}, {"Lucas", "male"},
    {"Sofia", "female"},  {"Mateo", "male"},    {"Aisha", "female"},  {"Hiroshi", "male"},
    {"Yuki", "female"},   {"Ingrid", "female"}, {"Pierre", "male"},   {"Elena", "female"},
    {"Raj", "male"},      {"Mei", "female"},    {"Tomás", "male"},    {"Noah", "male"},
    {"Olivia", "female"}, {"Liam", "male"},     {"Emma", "female"},   {"Alex", "not_provided"},
};
constexpr int kNumFirstNames = sizeof(kFirstNames) / sizeof(kFirstNames[0]);

constexpr const char* kLastNames[] = {
    "Smith",   "Müller",   "García",    "Nørgaard",  "Kowalski", "Chen",    "Patel",  "Tanaka",
    "Okafor",  "Ivanova",  "Johnson",   "Brown",     "Dubois",   "Rossi",   "Silva",  "Kim",
    "Nguyen",  "Schmidt",  "López",     "Andersson", "O'Brien",  "Fischer", "Martin", "Lee",
    "Singh",   "Yamamoto", "Hernández", "Novák",     "Ødegaard", "Wang",    "Cohen",  "Murphy",
    "Bianchi", "Santos",   "Kaur",      "Walker",    "Young",    "Hall",    "Allen",  "Wright",
};
constexpr int kNumLastNames = sizeof(kLastNames) / sizeof(kLastNames[0]);

constexpr const char* kJobTitles[] = {
    "Founder & CEO",           "Co-Founder & CTO", "Co-Founder",      "CEO",
    "Chief Operating Officer", "VP Engineering",   "Head of Product", "Managing Partner",
    "General Partner",         "Angel Investor",
};

constexpr const char* kEmployees[] = {
    "",
    "c_00001_00010",
    "c_00011_00050",
    "c_00051_00100",
    "c_00101_00250",
    "c_00251_00500",
    "c_00501_01000",
    "c_01001_05000",
    "c_05001_10000",
    "c_10001_max",
};
constexpr const char* kRevenue[] = {
    "",           "r_00000000", "r_00001000", "r_00010000", "r_00050000",
    "r_00100000", "r_00500000", "r_01000000", "r_10000000",
};
constexpr const char* kOperatingStatus[] = {"active", "closed"};
constexpr const char* kCompanyType[] = {"for_profit", "non_profit"};
constexpr const char* kIpoStatus[] = {"private", "public"};

struct RoundType {
  const char* id;
  const char* display;
  const char* slug;
  const char* stage;  // investment_stage, "" when none
  bool equity;
  double min_usd;
  double max_usd;
};
constexpr RoundType kRoundTypes[] = {
    {"pre_seed", "Pre-Seed", "pre-seed", "seed", true, 1e5, 1e6},
    {"seed", "Seed", "seed", "seed", true, 3e5, 4e6},
    {"series_a", "Series A", "series-a", "early_stage_venture", true, 3e6, 2e7},
    {"series_b", "Series B", "series-b", "early_stage_venture", true, 1e7, 5e7},
    {"series_c", "Series C", "series-c", "late_stage_venture", true, 2.5e7, 1.2e8},
    {"series_d", "Series D", "series-d", "late_stage_venture", true, 5e7, 2.5e8},
    {"series_e", "Series E", "series-e", "late_stage_venture", true, 8e7, 4e8},
    {"angel", "Angel", "angel", "seed", true, 5e4, 1e6},
    {"debt_financing", "Debt Financing", "debt-financing", "", false, 5e5, 5e7},
    {"grant", "Grant", "grant", "", false, 2e4, 2e6},
    {"convertible_note", "Convertible Note", "convertible-note", "", false, 1e5, 5e6},
    {"corporate_round", "Corporate Round", "corporate-round", "", true, 1e6, 3e7},
    {"series_unknown", "Venture - Series Unknown", "series-unknown", "", true, 5e5, 2e7},
    {"private_equity", "Private Equity", "private-equity", "", true, 1e7, 3e8},
};
constexpr int kFirstOddRoundType = 7;  // types after the seed..series_e progression
constexpr int kNumRoundTypes = sizeof(kRoundTypes) / sizeof(kRoundTypes[0]);

constexpr const char* kCurrencies[] = {"USD", "EUR", "GBP"};
constexpr double kUsdRate[] = {1.0, 1.1, 1.27};

constexpr const char* kAcquisitionTypes[] = {"acquisition", "merge", "acquihire"};
constexpr const char* kAcquisitionStatus[] = {"complete", "pending"};
constexpr const char* kDispositions[] = {"", "subsidiary", "combined"};
constexpr const char* kPrecisions[] = {"", "day", "month", "year"};

constexpr const char* kStreets[] = {"Market", "Main",  "Hacker", "Harbour", "Linden",
                                    "Oak",    "Maple", "River",  "Station", "Park"};
constexpr const char* kStreetKinds[] = {"Street", "Avenue", "Road", "Way"};

constexpr const char* kAdjectives[] = {"a fast-growing", "an independent",   "a venture-backed",
                                       "a bootstrapped", "an award-winning", "an early-stage"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Entities.

namespace internal {

struct Money {
  double value = -1;  // < 0: absent
  uint8_t currency = 0;
  bool is_float = false;
  bool present() const { return value >= 0; }
  double usd() const { return std::round(value * kUsdRate[currency]); }
};

enum OrgFlags : uint16_t {
  kOrgInvestor = 1 << 0,
  kOrgImage = 1 << 1,
  kOrgLinkedin = 1 << 2,
  kOrgTwitter = 1 << 3,
  kOrgDescription = 1 << 4,
  kOrgLegalName = 1 << 5,
  kOrgEmail = 1 << 6,
  kOrgPhone = 1 << 7,
};

struct Org {
  Uuid uuid;
  std::string name;
  std::string lower_name;
  std::string permalink;
  std::string short_description;
  std::string domain;  // empty: no website
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int32_t founded_on = kNoDate;  // days
  uint8_t founded_precision = 0;
  int32_t rank_org = 0;
  int16_t city = -1;
  uint8_t categories[5] = {};
  uint8_t num_categories = 0;
  uint8_t operating_status = 0;
  uint8_t company_type = 0;
  uint8_t ipo_status = 0;
  uint8_t employees = 0;
  uint8_t revenue = 0;
  uint16_t flags = 0;
  int32_t acquired_in = -1;  // the acquisition in which this org was acquired
  double funding_total_usd = 0;
  int32_t last_funding_on = kNoDate;
  uint8_t last_funding_type = 0;
  bool deleted = false;
  std::vector<uint32_t> rounds;
  std::vector<uint32_t> founders;
  std::vector<uint32_t> investments_made;
  std::vector<uint32_t> acquisitions_made;
};

enum PersonFlags : uint8_t {
  kPersonInvestor = 1 << 0,
  kPersonFounder = 1 << 1,
  kPersonImage = 1 << 2,
  kPersonLinkedin = 1 << 3,
  kPersonDescription = 1 << 4,
};

struct Person {
  Uuid uuid;
  std::string permalink;
  std::string lower_name;
  uint16_t first = 0;
  uint16_t last = 0;
  int32_t primary_org = -1;
  uint8_t title = 0;
  uint8_t flags = 0;
  int16_t city = -1;
  int32_t born_on = kNoDate;
  int32_t rank_person = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::vector<uint32_t> investments_made;
};

struct Round {
  Uuid uuid;
  uint32_t org = 0;
  int32_t announced_on = 0;  // days
  uint8_t type = 0;
  bool deleted = false;
  Money money;
  int32_t rank = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::vector<uint32_t> investments;
};

struct Investment {
  Uuid uuid;
  uint32_t round = 0;
  uint32_t investor = 0;
  bool investor_is_person = false;
  bool lead = false;
  bool deleted = false;
  Money money;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  EntityRef investor_ref() const {
    return {investor_is_person ? Collection::kPeople : Collection::kOrganizations, investor};
  }
};

struct Acquisition {
  Uuid uuid;
  uint32_t acquiree = 0;
  uint32_t acquirer = 0;
  int32_t announced_on = 0;  // days
  uint8_t announced_precision = 1;
  int32_t completed_on = kNoDate;
  uint8_t type = 0;
  uint8_t status = 0;
  uint8_t disposition = 0;
  bool deleted = false;
  Money price;
  int32_t rank = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct UuidEntry {
  Uuid uuid;
  EntityRef ref;
};

struct Data {
  int num_orgs = 0;
  uint64_t seed = 0;
  std::vector<Org> orgs;
  std::vector<Person> people;
  std::vector<Round> rounds;
  std::vector<Investment> investments;
  std::vector<Acquisition> acquisitions;
  std::vector<Uuid> address_uuids;  // one per organization

  std::vector<StaticIdent> categories;
  std::vector<StaticIdent> locations;
  std::vector<std::array<int, 4>> city_locations;  // city, region, country, continent
  std::vector<std::string> first_name_slugs;
  std::vector<std::string> last_name_slugs;

  std::unordered_map<std::string, uint32_t> org_by_permalink;
  std::unordered_map<std::string, uint32_t> person_by_permalink;
  std::vector<UuidEntry> uuid_index;  // sorted by uuid
  std::vector<DeletedEntity> deleted;
  size_t live_count[kNumCollections] = {};
  uint64_t mutations = 0;

  std::vector<FieldDef> fields[kNumCollections];
  std::unordered_map<std::string, size_t> field_index[kNumCollections];
  std::vector<CardDef> cards[kNumCollections];

  uint32_t Size(Collection c) const {
    switch (c) {
      case Collection::kOrganizations:
        return static_cast<uint32_t>(orgs.size());
      case Collection::kPeople:
        return static_cast<uint32_t>(people.size());
      case Collection::kFundingRounds:
        return static_cast<uint32_t>(rounds.size());
      case Collection::kInvestments:
        return static_cast<uint32_t>(investments.size());
      case Collection::kAcquisitions:
        return static_cast<uint32_t>(acquisitions.size());
      case Collection::kAddresses:
        return static_cast<uint32_t>(orgs.size());
    }
    return 0;
  }

  bool Live(EntityRef r) const {
    if (r.index >= Size(r.collection)) return false;
    switch (r.collection) {
      case Collection::kOrganizations:
        return !orgs[r.index].deleted;
      case Collection::kPeople:
        return true;
      case Collection::kFundingRounds:
        return !rounds[r.index].deleted;
      case Collection::kInvestments:
        return !investments[r.index].deleted;
      case Collection::kAcquisitions:
        return !acquisitions[r.index].deleted;
      case Collection::kAddresses:
        return !orgs[r.index].deleted && orgs[r.index].city >= 0;
    }
    return false;
  }

  Uuid UuidOf(EntityRef r) const {
    switch (r.collection) {
      case Collection::kOrganizations:
        return orgs[r.index].uuid;
      case Collection::kPeople:
        return people[r.index].uuid;
      case Collection::kFundingRounds:
        return rounds[r.index].uuid;
      case Collection::kInvestments:
        return investments[r.index].uuid;
      case Collection::kAcquisitions:
        return acquisitions[r.index].uuid;
      case Collection::kAddresses:
        return address_uuids[r.index];
    }
    return {};
  }

  std::string PersonName(uint32_t i) const {
    const Person& p = people[i];
    return StrCat(kFirstNames[p.first].name, " ", kLastNames[p.last]);
  }

  std::string RoundName(uint32_t i) const {
    const Round& r = rounds[i];
    return StrCat(kRoundTypes[r.type].display, " - ", orgs[r.org].name);
  }

  std::string Name(EntityRef r) const {
    switch (r.collection) {
      case Collection::kOrganizations:
        return orgs[r.index].name;
      case Collection::kPeople:
        return PersonName(r.index);
      case Collection::kFundingRounds:
        return RoundName(r.index);
      case Collection::kInvestments: {
        const Investment& inv = investments[r.index];
        return StrCat(Name(inv.investor_ref()), " investment in ", RoundName(inv.round));
      }
      case Collection::kAcquisitions: {
        const Acquisition& a = acquisitions[r.index];
        return StrCat(orgs[a.acquiree].name, " acquired by ", orgs[a.acquirer].name);
      }
      case Collection::kAddresses:
        return "Headquarters";
    }
    return "";
  }

  std::string Permalink(EntityRef r) const {
    auto suffix = [&](const Uuid& u) { return u.ToString().substr(0, 8); };
    switch (r.collection) {
      case Collection::kOrganizations:
        return orgs[r.index].permalink;
      case Collection::kPeople:
        return people[r.index].permalink;
      case Collection::kFundingRounds: {
        const Round& rd = rounds[r.index];
        return StrCat(orgs[rd.org].permalink, "-", kRoundTypes[rd.type].slug, "--",
                      suffix(rd.uuid));
      }
      case Collection::kInvestments: {
        const Investment& inv = investments[r.index];
        const Round& rd = rounds[inv.round];
        return StrCat(Permalink(inv.investor_ref()), "-invested-in-", orgs[rd.org].permalink, "-",
                      kRoundTypes[rd.type].slug, "--", suffix(inv.uuid));
      }
      case Collection::kAcquisitions: {
        const Acquisition& a = acquisitions[r.index];
        return StrCat(orgs[a.acquirer].permalink, "-acquires-", orgs[a.acquiree].permalink, "--",
                      suffix(a.uuid));
      }
      case Collection::kAddresses:
        return "";
    }
    return "";
  }

  // image_id of an identifier: organizations and people with a logo; rounds show their org's.
  std::string Image(EntityRef r) const {
    switch (r.collection) {
      case Collection::kOrganizations:
        return (orgs[r.index].flags & kOrgImage) ? ImageId(orgs[r.index].uuid) : "";
      case Collection::kPeople:
        return (people[r.index].flags & kPersonImage) ? ImageId(people[r.index].uuid) : "";
      case Collection::kFundingRounds:
        return Image({Collection::kOrganizations, rounds[r.index].org});
      case Collection::kAcquisitions:
        return Image({Collection::kOrganizations, acquisitions[r.index].acquiree});
      default:
        return "";
    }
  }

  void WriteIdentifier(EntityRef r, std::string_view role, JsonWriter& w) const {
    w.BeginObject();
    if (!role.empty()) {
      w.Key("role");
      w.String(role);
    }
    std::string* out = w.out();
    w.Key("uuid");
    w.Raw("\"");
    UuidOf(r).AppendTo(out);
    out->push_back('"');
    w.Key("value");
    w.String(Name(r));
    std::string image = Image(r);
    if (!image.empty()) {
      w.Key("image_id");
      w.String(image);
    }
    if (r.collection != Collection::kAddresses) {
      w.Key("permalink");
      w.String(Permalink(r));
    }
    w.Key("entity_def_id");
    w.String(EntityDefId(r.collection));
    w.EndObject();
  }

  void AddIdentifierItems(EntityRef r, FieldValue* v) const {
    v->items.push_back(UuidOf(r).ToString());
    if (r.collection != Collection::kAddresses) v->items.push_back(Permalink(r));
  }

  std::vector<int> OrgLocations(const Org& o) const {
    if (o.city < 0) return {};
    const auto& c = city_locations[o.city];
    return {c[0], c[1], c[2], c[3]};
  }
  std::vector<int> OrgCategories(const Org& o) const {
    return std::vector<int>(o.categories, o.categories + o.num_categories);
  }

  std::vector<uint32_t> LiveInvestmentsOfRound(uint32_t r) const {
    std::vector<uint32_t> out;
    for (uint32_t i : rounds[r].investments) {
      if (!investments[i].deleted) out.push_back(i);
    }
    return out;
  }
  std::vector<uint32_t> LiveInvestmentsInOrg(uint32_t org) const {
    std::vector<uint32_t> out;
    for (uint32_t r : orgs[org].rounds) {
      for (uint32_t i : rounds[r].investments) {
        if (!investments[i].deleted) out.push_back(i);
      }
    }
    return out;
  }
  std::vector<EntityRef> InvestorsOfOrg(uint32_t org) const {
    std::vector<EntityRef> out;
    for (uint32_t i : LiveInvestmentsInOrg(org)) {
      EntityRef ref = investments[i].investor_ref();
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
    }
    return out;
  }
  template <typename Vec>
  std::vector<uint32_t> LiveOf(const Vec& items, Collection c) const {
    std::vector<uint32_t> out;
    for (uint32_t i : items) {
      if (Live({c, i})) out.push_back(i);
    }
    return out;
  }
};

}  // namespace internal

using internal::Acquisition;
using internal::Data;
using internal::Investment;
using internal::Money;
using internal::Org;
using internal::Person;
using internal::Round;

// ---------------------------------------------------------------------------------------------
// Field-table builders. Each takes a getter (const Data&, uint32_t) -> value and produces the
// writer and the typed value.

namespace {

template <typename Get>  // -> something with .empty() convertible to string_view; empty = absent
FieldDef TextField(std::string name, Get get, bool sortable = true) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kString;
  f.sortable = sortable;
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    auto v = get(d, i);
    if (std::string_view(v).empty()) return;
    w.Key(name);
    w.String(v);
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    auto s = get(d, i);
    if (!std::string_view(s).empty()) {
      v.present = true;
      v.text = std::string(std::string_view(s));
    }
    return v;
  };
  return f;
}

template <typename Get>  // -> string; written as {"value": url}
FieldDef UrlField(std::string name, Get get) {
  FieldDef f = TextField(name, get);
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    auto v = get(d, i);
    if (std::string_view(v).empty()) return;
    w.Key(name);
    w.BeginObject();
    w.Key("value");
    w.String(v);
    w.EndObject();
  };
  return f;
}

template <typename Get>  // -> std::optional<double>
FieldDef NumberField(std::string name, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kNumber;
  f.sortable = true;
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::optional<double> v = get(d, i);
    if (!v) return;
    w.Key(name);
    w.Double(*v);
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    std::optional<double> n = get(d, i);
    if (n) {
      v.present = true;
      v.number = *n;
    }
    return v;
  };
  return f;
}

template <typename Get>  // -> std::optional<bool>
FieldDef BoolField(std::string name, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kBool;
  f.sortable = true;
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::optional<bool> v = get(d, i);
    if (!v) return;
    w.Key(name);
    w.Bool(*v);
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    std::optional<bool> b = get(d, i);
    if (b) {
      v.present = true;
      v.number = *b ? 1 : 0;
    }
    return v;
  };
  return f;
}

// style: 0 timestamp "…T…Z", 1 plain date "YYYY-MM-DD", 2 {value, precision}.
template <typename Get>  // -> std::pair<int64_t seconds, uint8_t precision>; precision 0 = absent
FieldDef TimeField(std::string name, int style, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kTime;
  f.sortable = true;
  f.write = [name, style, get](const Data& d, uint32_t i, JsonWriter& w) {
    auto [t, precision] = get(d, i);
    if (precision == 0) return;
    w.Key(name);
    std::string* out = w.out();
    if (style == 0) {
      w.Raw("\"");
      AppendTimestamp(out, t);
      out->push_back('"');
    } else if (style == 1) {
      w.Raw("\"");
      AppendDate(out, t);
      out->push_back('"');
    } else {
      w.BeginObject();
      w.Key("value");
      w.Raw("\"");
      AppendDate(out, t);
      out->push_back('"');
      w.Key("precision");
      w.String(kPrecisions[precision]);
      w.EndObject();
    }
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    auto [t, precision] = get(d, i);
    if (precision != 0) {
      v.present = true;
      v.number = static_cast<double>(t);
    }
    return v;
  };
  return f;
}

std::pair<int64_t, uint8_t> Stamp(int64_t t) { return {t, t == 0 ? uint8_t{0} : uint8_t{1}}; }
std::pair<int64_t, uint8_t> Day(int32_t days, uint8_t precision = 1) {
  if (days == kNoDate) return {0, 0};
  return {static_cast<int64_t>(days) * kDay, precision};
}

void WriteMoney(const Money& m, JsonWriter& w) {
  w.BeginObject();
  w.Key("value");
  if (m.is_float) {
    w.Double(m.value);
  } else {
    w.Int(static_cast<int64_t>(std::llround(m.value)));
  }
  w.Key("currency");
  w.String(kCurrencies[m.currency]);
  w.Key("value_usd");
  w.Int(static_cast<int64_t>(m.usd()));
  w.EndObject();
}

template <typename Get>  // -> Money (value < 0: absent)
FieldDef MoneyField(std::string name, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kMoney;
  f.sortable = true;
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    Money m = get(d, i);
    if (!m.present()) return;
    w.Key(name);
    WriteMoney(m, w);
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    Money m = get(d, i);
    if (m.present()) {
      v.present = true;
      v.number = m.usd();
    }
    return v;
  };
  return f;
}

template <typename Get>  // -> std::optional<EntityRef>
FieldDef IdentField(std::string name, std::string role, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kIdentifiers;
  f.sortable = true;  // by the identifier's value
  f.write = [name, role, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::optional<EntityRef> r = get(d, i);
    if (!r) return;
    w.Key(name);
    d.WriteIdentifier(*r, role, w);
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    std::optional<EntityRef> r = get(d, i);
    if (r) {
      v.present = true;
      v.text = d.Name(*r);
      d.AddIdentifierItems(*r, &v);
    }
    return v;
  };
  return f;
}

template <typename Get>  // -> std::vector<EntityRef>; empty = absent
FieldDef IdentsField(std::string name, std::string role, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kIdentifiers;
  f.write = [name, role, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::vector<EntityRef> refs = get(d, i);
    if (refs.empty()) return;
    w.Key(name);
    w.BeginArray();
    for (const EntityRef& r : refs) d.WriteIdentifier(r, role, w);
    w.EndArray();
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    std::vector<EntityRef> refs = get(d, i);
    v.present = !refs.empty();
    for (const EntityRef& r : refs) d.AddIdentifierItems(r, &v);
    return v;
  };
  return f;
}

// Categories (table 0) or locations (table 1): getter -> std::vector<int> indices.
template <typename Get>
FieldDef StaticIdentsField(std::string name, int table, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kIdentifiers;
  f.write = [name, table, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::vector<int> idx = get(d, i);
    if (idx.empty()) return;
    const auto& t = table == 0 ? d.categories : d.locations;
    w.Key(name);
    w.BeginArray();
    for (int k : idx) w.Raw(t[k].json);
    w.EndArray();
  };
  f.value = [table, get](const Data& d, uint32_t i) {
    FieldValue v;
    std::vector<int> idx = get(d, i);
    const auto& t = table == 0 ? d.categories : d.locations;
    v.present = !idx.empty();
    for (int k : idx) {
      v.items.push_back(t[k].uuid);
      v.items.push_back(t[k].permalink);
    }
    return v;
  };
  return f;
}

template <typename Get>  // -> std::vector<std::string_view>
FieldDef StringsField(std::string name, Get get) {
  FieldDef f;
  f.name = name;
  f.kind = FieldKind::kStrings;
  f.write = [name, get](const Data& d, uint32_t i, JsonWriter& w) {
    std::vector<std::string_view> v = get(d, i);
    if (v.empty()) return;
    w.Key(name);
    w.BeginArray();
    for (std::string_view s : v) w.String(s);
    w.EndArray();
  };
  f.value = [get](const Data& d, uint32_t i) {
    FieldValue v;
    for (std::string_view s : get(d, i)) v.items.emplace_back(s);
    v.present = !v.items.empty();
    return v;
  };
  return f;
}

std::optional<double> NonZero(size_t n) {
  if (n == 0) return std::nullopt;
  return static_cast<double>(n);
}

std::string OrgDescription(const Data& d, const Org& o) {
  std::string cat = o.num_categories > 0 ? ToLower(d.categories[o.categories[0]].value)
                                         : std::string("technology");
  std::string where =
      o.city >= 0 ? std::string(kCities[o.city].city) : std::string("several countries");
  std::string out = StrCat(o.name, " builds ", cat, " products for customers in ", where, ".");
  if (o.founded_on != kNoDate) {
    out += StrCat("\n\nFounded in ",
                  FormatDate(static_cast<int64_t>(o.founded_on) * kDay).substr(0, 4),
                  ", the team works out of ", where, ".");
  }
  if (o.flags & internal::kOrgInvestor) {
    out += "\n\nIt also invests in early-stage companies.";
  }
  return out;
}

std::string RoundShortDescription(const Data& d, uint32_t i) {
  const Round& r = d.rounds[i];
  std::string when = FormatDate(static_cast<int64_t>(r.announced_on) * kDay);
  if (!r.money.present()) {
    return StrCat(d.orgs[r.org].name, " raised an undisclosed amount on ", when, " in ",
                  kRoundTypes[r.type].display);
  }
  return StrCat(d.orgs[r.org].name, " raised $", static_cast<int64_t>(r.money.usd()), " on ", when,
                " in ", kRoundTypes[r.type].display);
}

Money OrgFundingTotal(const Org& o) {
  Money m;
  if (o.funding_total_usd > 0) m.value = o.funding_total_usd;
  return m;
}

std::vector<std::string_view> OrgFacets(const Org& o) {
  std::vector<std::string_view> out = {"company", "rank"};
  if (o.flags & internal::kOrgInvestor) out.push_back("investor");
  return out;
}

void AddCommonTail(std::vector<FieldDef>* fields, Collection c,
                   int64_t (*created)(const Data&, uint32_t),
                   int64_t (*updated)(const Data&, uint32_t)) {
  fields->push_back(TimeField(
      "created_at", 0, [created](const Data& d, uint32_t i) { return Stamp(created(d, i)); }));
  fields->push_back(TimeField(
      "updated_at", 0, [updated](const Data& d, uint32_t i) { return Stamp(updated(d, i)); }));
  std::string def(EntityDefId(c));
  fields->push_back(
      TextField("entity_def_id", [def](const Data&, uint32_t) { return std::string_view(def); }));
}

void AddCommonHead(std::vector<FieldDef>* fields, Collection c, bool with_permalink) {
  fields->push_back(TextField("uuid", [c](const Data& d, uint32_t i) {
    return d.UuidOf({c, i}).ToString();
  }));
  fields->push_back(IdentField("identifier", "", [c](const Data&, uint32_t i) {
    return std::optional<EntityRef>(EntityRef{c, i});
  }));
  if (with_permalink) {
    fields->push_back(TextField("permalink", [c](const Data& d, uint32_t i) {
      return d.Permalink({c, i});
    }));
  }
}

void BuildOrganizationFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kOrganizations, true);
  f->push_back(TextField(
      "name", [](const Data& d, uint32_t i) { return std::string_view(d.orgs[i].name); }));
  f->push_back(TextField("legal_name", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return (o.flags & internal::kOrgLegalName) ? StrCat(o.name, ", Inc.") : std::string();
  }));
  f->push_back(TextField("short_description", [](const Data& d, uint32_t i) {
    return std::string_view(d.orgs[i].short_description);
  }));
  f->push_back(TextField("description", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return (o.flags & internal::kOrgDescription) ? OrgDescription(d, o) : std::string();
  }));
  f->push_back(UrlField("website", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return o.domain.empty() ? std::string() : StrCat("https://www.", o.domain);
  }));
  f->push_back(TextField("website_url", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return o.domain.empty() ? std::string() : StrCat("https://www.", o.domain);
  }));
  f->push_back(UrlField("linkedin", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return (o.flags & internal::kOrgLinkedin)
               ? StrCat("https://www.linkedin.com/company/", Slugify(o.name))
               : std::string();
  }));
  f->push_back(UrlField("twitter", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return (o.flags & internal::kOrgTwitter) ? StrCat("https://twitter.com/", Slugify(o.name))
                                             : std::string();
  }));
  f->push_back(TextField("contact_email", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return ((o.flags & internal::kOrgEmail) && !o.domain.empty()) ? StrCat("info@", o.domain)
                                                                  : std::string();
  }));
  f->push_back(TextField("phone_number", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    if (!(o.flags & internal::kOrgPhone)) return std::string();
    uint64_t h = Mix(o.uuid.hi);
    return StrCat("+1-", 200 + h % 800, "-555-", 1000 + (h >> 20) % 9000);
  }));
  f->push_back(TextField("image_id", [](const Data& d, uint32_t i) {
    return d.Image({C::kOrganizations, i});
  }));
  f->push_back(TextField("image_url", [](const Data& d, uint32_t i) {
    std::string id = d.Image({C::kOrganizations, i});
    return id.empty()
               ? id
               : StrCat("https://res.cloudinary.com/crunchbase-production/image/upload/", id);
  }));
  f->push_back(StaticIdentsField(
      "categories", 0, [](const Data& d, uint32_t i) { return d.OrgCategories(d.orgs[i]); }));
  f->push_back(StaticIdentsField("location_identifiers", 1, [](const Data& d, uint32_t i) {
    return d.OrgLocations(d.orgs[i]);
  }));
  f->push_back(TimeField("founded_on", 2, [](const Data& d, uint32_t i) {
    return Day(d.orgs[i].founded_on, d.orgs[i].founded_precision);
  }));
  f->push_back(MoneyField("funding_total",
                          [](const Data& d, uint32_t i) { return OrgFundingTotal(d.orgs[i]); }));
  f->push_back(NumberField("num_funding_rounds", [](const Data& d, uint32_t i) {
    return NonZero(d.orgs[i].rounds.size());
  }));
  f->push_back(TextField("last_funding_type", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    return o.rounds.empty() ? std::string_view() : kRoundTypes[o.last_funding_type].id;
  }));
  f->push_back(TimeField("last_funding_at", 1,
                         [](const Data& d, uint32_t i) { return Day(d.orgs[i].last_funding_on); }));
  f->push_back(IdentsField("investor_identifiers", "",
                           [](const Data& d, uint32_t i) { return d.InvestorsOfOrg(i); }));
  f->push_back(NumberField("num_investors", [](const Data& d, uint32_t i) {
    return NonZero(d.InvestorsOfOrg(i).size());
  }));
  f->push_back(IdentsField("founder_identifiers", "", [](const Data& d, uint32_t i) {
    std::vector<EntityRef> out;
    for (uint32_t p : d.orgs[i].founders) out.push_back({C::kPeople, p});
    return out;
  }));
  f->push_back(NumberField("num_founders", [](const Data& d, uint32_t i) {
    return NonZero(d.orgs[i].founders.size());
  }));
  f->push_back(NumberField("num_investments", [](const Data& d, uint32_t i) {
    return NonZero(d.LiveOf(d.orgs[i].investments_made, C::kInvestments).size());
  }));
  f->push_back(NumberField("num_acquisitions", [](const Data& d, uint32_t i) {
    return NonZero(d.LiveOf(d.orgs[i].acquisitions_made, C::kAcquisitions).size());
  }));
  f->push_back(IdentField("acquirer_identifier", "acquirer", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    if (o.acquired_in < 0) return std::optional<EntityRef>();
    return std::optional<EntityRef>(
        EntityRef{C::kOrganizations, d.acquisitions[o.acquired_in].acquirer});
  }));
  f->push_back(NumberField("rank_org", [](const Data& d, uint32_t i) {
    return std::optional<double>(d.orgs[i].rank_org);
  }));
  f->push_back(NumberField(
      "rank", [](const Data& d, uint32_t i) { return std::optional<double>(d.orgs[i].rank_org); }));
  f->push_back(TextField("operating_status", [](const Data& d, uint32_t i) {
    return std::string_view(kOperatingStatus[d.orgs[i].operating_status]);
  }));
  f->push_back(TextField("status", [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    if (o.acquired_in >= 0) return std::string_view("was_acquired");
    return std::string_view(o.operating_status == 0 ? "operating" : "closed");
  }));
  f->push_back(TextField("company_type", [](const Data& d, uint32_t i) {
    return std::string_view(kCompanyType[d.orgs[i].company_type]);
  }));
  f->push_back(TextField("ipo_status", [](const Data& d, uint32_t i) {
    return std::string_view(kIpoStatus[d.orgs[i].ipo_status]);
  }));
  f->push_back(TextField("num_employees_enum", [](const Data& d, uint32_t i) {
    return std::string_view(kEmployees[d.orgs[i].employees]);
  }));
  f->push_back(TextField("revenue_range", [](const Data& d, uint32_t i) {
    return std::string_view(kRevenue[d.orgs[i].revenue]);
  }));
  f->push_back(
      StringsField("facet_ids", [](const Data& d, uint32_t i) { return OrgFacets(d.orgs[i]); }));
  AddCommonTail(
      f, C::kOrganizations, [](const Data& d, uint32_t i) { return d.orgs[i].created_at; },
      [](const Data& d, uint32_t i) { return d.orgs[i].updated_at; });
}

void BuildPersonFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kPeople, true);
  f->push_back(TextField("name", [](const Data& d, uint32_t i) { return d.PersonName(i); }));
  f->push_back(TextField("first_name", [](const Data& d, uint32_t i) {
    return std::string_view(kFirstNames[d.people[i].first].name);
  }));
  f->push_back(TextField("last_name", [](const Data& d, uint32_t i) {
    return std::string_view(kLastNames[d.people[i].last]);
  }));
  f->push_back(TextField("gender", [](const Data& d, uint32_t i) {
    return std::string_view(kFirstNames[d.people[i].first].gender);
  }));
  f->push_back(TextField("short_description", [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    std::string out = StrCat(d.PersonName(i), " is ");
    if (p.primary_org >= 0) {
      out += StrCat("the ", kJobTitles[p.title], " of ", d.orgs[p.primary_org].name, ".");
    } else {
      out += StrCat("a ", (p.flags & internal::kPersonInvestor) ? "private investor" : "consultant",
                    ".");
    }
    return out;
  }));
  f->push_back(TextField("description", [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    if (!(p.flags & internal::kPersonDescription)) return std::string();
    return StrCat(d.PersonName(i), " has worked in ",
                  p.city >= 0 ? kCities[p.city].city : "several cities",
                  " for over a decade.\r\n\r\nBefore that, ", kFirstNames[p.first].name,
                  " studied engineering.");
  }));
  f->push_back(IdentField("primary_organization", "", [](const Data& d, uint32_t i) {
    int32_t o = d.people[i].primary_org;
    if (o < 0) return std::optional<EntityRef>();
    return std::optional<EntityRef>(EntityRef{C::kOrganizations, static_cast<uint32_t>(o)});
  }));
  f->push_back(TextField("primary_job_title", [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    return p.primary_org >= 0 ? std::string_view(kJobTitles[p.title]) : std::string_view();
  }));
  f->push_back(StaticIdentsField("location_identifiers", 1, [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    if (p.city < 0) return std::vector<int>();
    const auto& c = d.city_locations[p.city];
    return std::vector<int>{c[0], c[1], c[2], c[3]};
  }));
  f->push_back(StringsField("facet_ids", [](const Data& d, uint32_t i) {
    std::vector<std::string_view> out = {"rank"};
    if (d.people[i].flags & internal::kPersonInvestor) out.insert(out.begin(), "investor");
    return out;
  }));
  f->push_back(
      TimeField("born_on", 1, [](const Data& d, uint32_t i) { return Day(d.people[i].born_on); }));
  f->push_back(UrlField("linkedin", [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    return (p.flags & internal::kPersonLinkedin)
               ? StrCat("https://www.linkedin.com/in/", p.permalink)
               : std::string();
  }));
  f->push_back(TextField("image_id", [](const Data& d, uint32_t i) {
    return d.Image({C::kPeople, i});
  }));
  f->push_back(NumberField("num_founded_organizations", [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    bool founded = (p.flags & internal::kPersonFounder) && p.primary_org >= 0;
    return NonZero(founded ? 1 : 0);
  }));
  f->push_back(NumberField("num_investments", [](const Data& d, uint32_t i) {
    return NonZero(d.LiveOf(d.people[i].investments_made, C::kInvestments).size());
  }));
  f->push_back(NumberField("rank_person", [](const Data& d, uint32_t i) {
    return std::optional<double>(d.people[i].rank_person);
  }));
  AddCommonTail(
      f, C::kPeople, [](const Data& d, uint32_t i) { return d.people[i].created_at; },
      [](const Data& d, uint32_t i) { return d.people[i].updated_at; });
}

void BuildFundingRoundFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kFundingRounds, true);
  f->push_back(TextField("name", [](const Data& d, uint32_t i) { return d.RoundName(i); }));
  f->push_back(TextField("short_description",
                         [](const Data& d, uint32_t i) { return RoundShortDescription(d, i); }));
  f->push_back(TimeField("announced_on", 1,
                         [](const Data& d, uint32_t i) { return Day(d.rounds[i].announced_on); }));
  f->push_back(TextField("investment_type", [](const Data& d, uint32_t i) {
    return std::string_view(kRoundTypes[d.rounds[i].type].id);
  }));
  f->push_back(TextField("investment_stage", [](const Data& d, uint32_t i) {
    return std::string_view(kRoundTypes[d.rounds[i].type].stage);
  }));
  f->push_back(BoolField("is_equity", [](const Data& d, uint32_t i) {
    return std::optional<bool>(kRoundTypes[d.rounds[i].type].equity);
  }));
  f->push_back(
      MoneyField("money_raised", [](const Data& d, uint32_t i) { return d.rounds[i].money; }));
  f->push_back(NumberField("num_investors", [](const Data& d, uint32_t i) {
    return NonZero(d.LiveInvestmentsOfRound(i).size());
  }));
  f->push_back(IdentsField("investor_identifiers", "investor", [](const Data& d, uint32_t i) {
    std::vector<EntityRef> out;
    for (uint32_t k : d.LiveInvestmentsOfRound(i)) out.push_back(d.investments[k].investor_ref());
    return out;
  }));
  f->push_back(IdentsField("lead_investor_identifiers", "investor", [](const Data& d, uint32_t i) {
    std::vector<EntityRef> out;
    for (uint32_t k : d.LiveInvestmentsOfRound(i)) {
      if (d.investments[k].lead) out.push_back(d.investments[k].investor_ref());
    }
    return out;
  }));
  f->push_back(
      IdentField("funded_organization_identifier", "investee", [](const Data& d, uint32_t i) {
        return std::optional<EntityRef>(EntityRef{C::kOrganizations, d.rounds[i].org});
      }));
  f->push_back(StaticIdentsField(
      "funded_organization_categories", 0,
      [](const Data& d, uint32_t i) { return d.OrgCategories(d.orgs[d.rounds[i].org]); }));
  f->push_back(StaticIdentsField("funded_organization_location", 1, [](const Data& d, uint32_t i) {
    return d.OrgLocations(d.orgs[d.rounds[i].org]);
  }));
  f->push_back(MoneyField("funded_organization_funding_total", [](const Data& d, uint32_t i) {
    return OrgFundingTotal(d.orgs[d.rounds[i].org]);
  }));
  f->push_back(TextField("funded_organization_description", [](const Data& d, uint32_t i) {
    return std::string_view(d.orgs[d.rounds[i].org].short_description);
  }));
  f->push_back(TextField("image_id", [](const Data& d, uint32_t i) {
    return d.Image({C::kFundingRounds, i});
  }));
  f->push_back(NumberField("rank_funding_round", [](const Data& d, uint32_t i) {
    return std::optional<double>(d.rounds[i].rank);
  }));
  AddCommonTail(
      f, C::kFundingRounds, [](const Data& d, uint32_t i) { return d.rounds[i].created_at; },
      [](const Data& d, uint32_t i) { return d.rounds[i].updated_at; });
}

void BuildInvestmentFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kInvestments, true);
  f->push_back(TextField("name", [](const Data& d, uint32_t i) {
    return d.Name({C::kInvestments, i});
  }));
  f->push_back(TimeField("announced_on", 1, [](const Data& d, uint32_t i) {
    return Day(d.rounds[d.investments[i].round].announced_on);
  }));
  f->push_back(IdentField("funding_round_identifier", "", [](const Data& d, uint32_t i) {
    return std::optional<EntityRef>(EntityRef{C::kFundingRounds, d.investments[i].round});
  }));
  f->push_back(IdentField("investor_identifier", "", [](const Data& d, uint32_t i) {
    return std::optional<EntityRef>(d.investments[i].investor_ref());
  }));
  f->push_back(IdentField("organization_identifier", "", [](const Data& d, uint32_t i) {
    return std::optional<EntityRef>(
        EntityRef{C::kOrganizations, d.rounds[d.investments[i].round].org});
  }));
  f->push_back(BoolField("is_lead_investor", [](const Data& d, uint32_t i) {
    return std::optional<bool>(d.investments[i].lead);
  }));
  f->push_back(MoneyField("money_invested",
                          [](const Data& d, uint32_t i) { return d.investments[i].money; }));
  f->push_back(TextField("investment_type", [](const Data& d, uint32_t i) {
    return std::string_view(kRoundTypes[d.rounds[d.investments[i].round].type].id);
  }));
  AddCommonTail(
      f, C::kInvestments, [](const Data& d, uint32_t i) { return d.investments[i].created_at; },
      [](const Data& d, uint32_t i) { return d.investments[i].updated_at; });
}

void BuildAcquisitionFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kAcquisitions, true);
  f->push_back(TextField("short_description", [](const Data& d, uint32_t i) {
    const Acquisition& a = d.acquisitions[i];
    std::string out = StrCat(d.orgs[a.acquirer].name, " acquires ", d.orgs[a.acquiree].name, " on ",
                             FormatDate(static_cast<int64_t>(a.announced_on) * kDay));
    if (a.price.present()) out += StrCat(" for $", static_cast<int64_t>(a.price.usd()));
    return out;
  }));
  f->push_back(TimeField("announced_on", 2, [](const Data& d, uint32_t i) {
    return Day(d.acquisitions[i].announced_on, d.acquisitions[i].announced_precision);
  }));
  f->push_back(TimeField("completed_on", 2, [](const Data& d, uint32_t i) {
    return Day(d.acquisitions[i].completed_on, 1);
  }));
  f->push_back(IdentField("acquiree_identifier", "acquiree", [](const Data& d, uint32_t i) {
    return std::optional<EntityRef>(EntityRef{C::kOrganizations, d.acquisitions[i].acquiree});
  }));
  f->push_back(IdentField("acquirer_identifier", "acquirer", [](const Data& d, uint32_t i) {
    return std::optional<EntityRef>(EntityRef{C::kOrganizations, d.acquisitions[i].acquirer});
  }));
  f->push_back(
      MoneyField("price", [](const Data& d, uint32_t i) { return d.acquisitions[i].price; }));
  f->push_back(TextField("acquisition_type", [](const Data& d, uint32_t i) {
    return std::string_view(kAcquisitionTypes[d.acquisitions[i].type]);
  }));
  f->push_back(TextField("status", [](const Data& d, uint32_t i) {
    return std::string_view(kAcquisitionStatus[d.acquisitions[i].status]);
  }));
  f->push_back(TextField("disposition_of_acquired", [](const Data& d, uint32_t i) {
    return std::string_view(kDispositions[d.acquisitions[i].disposition]);
  }));
  for (int side = 0; side < 2; ++side) {
    std::string p = side == 0 ? "acquiree" : "acquirer";
    auto org_of = [side](const Data& d, uint32_t i) -> const Org& {
      const Acquisition& a = d.acquisitions[i];
      return d.orgs[side == 0 ? a.acquiree : a.acquirer];
    };
    f->push_back(StaticIdentsField(p + "_categories", 0, [org_of](const Data& d, uint32_t i) {
      return d.OrgCategories(org_of(d, i));
    }));
    f->push_back(StaticIdentsField(p + "_locations", 1, [org_of](const Data& d, uint32_t i) {
      return d.OrgLocations(org_of(d, i));
    }));
    f->push_back(MoneyField(p + "_funding_total", [org_of](const Data& d, uint32_t i) {
      return OrgFundingTotal(org_of(d, i));
    }));
    f->push_back(TextField(p + "_short_description", [org_of](const Data& d, uint32_t i) {
      return std::string_view(org_of(d, i).short_description);
    }));
    f->push_back(NumberField(p + "_num_funding_rounds", [org_of](const Data& d, uint32_t i) {
      return NonZero(org_of(d, i).rounds.size());
    }));
    f->push_back(TextField(p + "_last_funding_type", [org_of](const Data& d, uint32_t i) {
      const Org& o = org_of(d, i);
      return o.rounds.empty() ? std::string_view() : kRoundTypes[o.last_funding_type].id;
    }));
  }
  f->push_back(NumberField("rank_acquisition", [](const Data& d, uint32_t i) {
    return std::optional<double>(d.acquisitions[i].rank);
  }));
  AddCommonTail(
      f, C::kAcquisitions, [](const Data& d, uint32_t i) { return d.acquisitions[i].created_at; },
      [](const Data& d, uint32_t i) { return d.acquisitions[i].updated_at; });
}

void BuildAddressFields(std::vector<FieldDef>* f) {
  using C = Collection;
  AddCommonHead(f, C::kAddresses, false);
  f->push_back(
      TextField("name", [](const Data&, uint32_t) { return std::string_view("Headquarters"); }));
  f->push_back(TextField("street_1", [](const Data& d, uint32_t i) {
    uint64_t h = Mix(d.address_uuids[i].lo);
    return StrCat(1 + h % 999, " ", kStreets[(h >> 12) % 10], " ", kStreetKinds[(h >> 20) % 4]);
  }));
  f->push_back(TextField("postal_code", [](const Data& d, uint32_t i) {
    uint64_t h = Mix(d.address_uuids[i].hi);
    return StrCat(10000 + h % 89999);
  }));
  f->push_back(StaticIdentsField("location_identifiers", 1, [](const Data& d, uint32_t i) {
    return d.OrgLocations(d.orgs[i]);
  }));
  AddCommonTail(
      f, C::kAddresses, [](const Data& d, uint32_t i) { return d.orgs[i].created_at; },
      [](const Data& d, uint32_t i) { return d.orgs[i].created_at; });
}

void BuildCards(Data* d) {
  using C = Collection;
  auto add = [d](C owner, std::string name, C item,
                 std::function<std::vector<uint32_t>(const Data&, uint32_t)> fn) {
    d->cards[static_cast<int>(owner)].push_back(CardDef{std::move(name), item, std::move(fn)});
  };
  add(C::kOrganizations, "raised_funding_rounds", C::kFundingRounds,
      [](const Data& d, uint32_t i) { return d.LiveOf(d.orgs[i].rounds, C::kFundingRounds); });
  auto raised = [](const Data& d, uint32_t i) { return d.LiveInvestmentsInOrg(i); };
  add(C::kOrganizations, "raised_investments", C::kInvestments, raised);
  add(C::kOrganizations, "investors", C::kInvestments, raised);
  add(C::kOrganizations, "founders", C::kPeople,
      [](const Data& d, uint32_t i) { return d.orgs[i].founders; });
  add(C::kOrganizations, "headquarters_address", C::kAddresses, [](const Data& d, uint32_t i) {
    return d.orgs[i].city >= 0 ? std::vector<uint32_t>{i} : std::vector<uint32_t>{};
  });
  add(C::kOrganizations, "participated_investments", C::kInvestments,
      [](const Data& d, uint32_t i) {
        return d.LiveOf(d.orgs[i].investments_made, C::kInvestments);
      });
  add(C::kOrganizations, "participated_funding_rounds", C::kFundingRounds,
      [](const Data& d, uint32_t i) {
        std::vector<uint32_t> out;
        for (uint32_t k : d.LiveOf(d.orgs[i].investments_made, C::kInvestments)) {
          uint32_t r = d.investments[k].round;
          if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
        }
        return out;
      });
  add(C::kOrganizations, "acquiree_acquisitions", C::kAcquisitions, [](const Data& d, uint32_t i) {
    return d.LiveOf(d.orgs[i].acquisitions_made, C::kAcquisitions);
  });
  add(C::kOrganizations, "acquirer_acquisitions", C::kAcquisitions, [](const Data& d, uint32_t i) {
    const Org& o = d.orgs[i];
    if (o.acquired_in < 0 || d.acquisitions[o.acquired_in].deleted) {
      return std::vector<uint32_t>{};
    }
    return std::vector<uint32_t>{static_cast<uint32_t>(o.acquired_in)};
  });
  add(C::kPeople, "participated_investments", C::kInvestments, [](const Data& d, uint32_t i) {
    return d.LiveOf(d.people[i].investments_made, C::kInvestments);
  });
  add(C::kPeople, "founded_organizations", C::kOrganizations, [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    if (!(p.flags & internal::kPersonFounder) || p.primary_org < 0) {
      return std::vector<uint32_t>{};
    }
    return std::vector<uint32_t>{static_cast<uint32_t>(p.primary_org)};
  });
  add(C::kPeople, "primary_organization", C::kOrganizations, [](const Data& d, uint32_t i) {
    const Person& p = d.people[i];
    if (p.primary_org < 0) return std::vector<uint32_t>{};
    return std::vector<uint32_t>{static_cast<uint32_t>(p.primary_org)};
  });
  add(C::kFundingRounds, "investments", C::kInvestments,
      [](const Data& d, uint32_t i) { return d.LiveInvestmentsOfRound(i); });
  add(C::kFundingRounds, "organization", C::kOrganizations,
      [](const Data& d, uint32_t i) { return std::vector<uint32_t>{d.rounds[i].org}; });
  add(C::kInvestments, "funding_round", C::kFundingRounds,
      [](const Data& d, uint32_t i) { return std::vector<uint32_t>{d.investments[i].round}; });
  add(C::kInvestments, "organization", C::kOrganizations, [](const Data& d, uint32_t i) {
    return std::vector<uint32_t>{d.rounds[d.investments[i].round].org};
  });
  add(C::kAcquisitions, "acquiree_organization", C::kOrganizations,
      [](const Data& d, uint32_t i) { return std::vector<uint32_t>{d.acquisitions[i].acquiree}; });
  add(C::kAcquisitions, "acquirer_organization", C::kOrganizations,
      [](const Data& d, uint32_t i) { return std::vector<uint32_t>{d.acquisitions[i].acquirer}; });
}

// ---------------------------------------------------------------------------------------------
// Generation.

StaticIdent MakeStaticIdent(std::string value, std::string permalink, std::string_view def,
                            std::string_view location_type) {
  StaticIdent s;
  Uuid u{HashString(StrCat(def, ":", permalink)), HashString(StrCat(permalink, ":", def))};
  s.uuid = u.ToString();
  s.value = std::move(value);
  s.permalink = std::move(permalink);
  JsonWriter w(&s.json);
  w.BeginObject();
  w.Key("uuid");
  w.String(s.uuid);
  w.Key("value");
  w.String(s.value);
  w.Key("permalink");
  w.String(s.permalink);
  w.Key("entity_def_id");
  w.String(def);
  if (!location_type.empty()) {
    w.Key("location_type");
    w.String(location_type);
  }
  w.EndObject();
  return s;
}

void BuildReferenceTables(Data* d) {
  for (const char* c : kCategories) {
    d->categories.push_back(MakeStaticIdent(c, Slugify(c), "category", ""));
  }
  std::unordered_map<std::string, int> by_permalink;
  auto location = [&](std::string value, std::string permalink, std::string_view type) {
    std::string key = StrCat(type, "/", permalink);
    auto it = by_permalink.find(key);
    if (it != by_permalink.end()) return it->second;
    int idx = static_cast<int>(d->locations.size());
    d->locations.push_back(MakeStaticIdent(std::move(value), permalink, "location", type));
    by_permalink.emplace(key, idx);
    return idx;
  };
  for (const CityRow& row : kCities) {
    std::array<int, 4> ids;
    ids[0] = location(row.city, StrCat(Slugify(row.city), "-", Slugify(row.region)), "city");
    ids[1] = location(row.region, StrCat(Slugify(row.region), "-", Slugify(row.country)), "region");
    ids[2] = location(row.country, Slugify(row.country), "country");
    ids[3] = location(row.continent, Slugify(row.continent), "continent");
    d->city_locations.push_back(ids);
  }
  for (const FirstName& f : kFirstNames) d->first_name_slugs.push_back(Slugify(f.name));
  for (const char* l : kLastNames) d->last_name_slugs.push_back(Slugify(l));
}

// A unique permalink: slug plus 4 hex characters of the uuid (another window on a clash).
std::string UniquePermalink(std::string slug, const Uuid& uuid,
                            std::unordered_map<std::string, uint32_t>* taken, uint32_t index) {
  std::string hex = uuid.ToString();
  hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
  for (size_t start = 0;; start += 4) {
    std::string candidate = start + 4 <= hex.size()
                                ? StrCat(slug, "-", hex.substr(start, 4))
                                : StrCat(slug, "-", hex.substr(0, 4), "-", start);
    if (taken->emplace(candidate, index).second) return candidate;
  }
}

int64_t RandomTime(Rng& rng, int64_t lo, int64_t hi) { return rng.Between(lo, hi); }

Money RandomMoney(Rng& rng, double min_usd, double max_usd) {
  Money m;
  double usd = min_usd * std::pow(max_usd / min_usd, rng.Unit());
  double rounded = std::round(usd / 1000.0) * 1000.0;
  double r = rng.Unit();
  m.currency = r < 0.85 ? 0 : r < 0.95 ? 1 : 2;
  m.value = std::round(rounded / kUsdRate[m.currency] / 1000.0) * 1000.0;
  if (m.value <= 0) m.value = 1000;
  if (rng.Chance(0.1)) {
    m.value += 0.5;
    m.is_float = true;
  }
  return m;
}

void GenerateOrganizations(Data* d) {
  const uint64_t seed = d->seed;
  const int n = d->num_orgs;
  d->orgs.resize(n);
  // Unique ranks: a seeded permutation of 1..n.
  std::vector<int32_t> ranks(n);
  for (int i = 0; i < n; ++i) ranks[i] = i + 1;
  Rng rank_rng(seed, kStreamRank, 0);
  for (int i = n - 1; i > 0; --i) std::swap(ranks[i], ranks[rank_rng.Below(i + 1)]);
  d->org_by_permalink.reserve(n * 2);

  for (int i = 0; i < n; ++i) {
    Rng rng(seed, kStreamOrg, i);
    Org& o = d->orgs[i];
    o.uuid = MakeUuid(seed, kStreamOrg, i);
    bool investor = rng.Chance(0.12);
    if (investor) o.flags |= internal::kOrgInvestor;
    std::string base;
    int syllables = 2 + static_cast<int>(rng.Below(2));
    for (int s = 0; s < syllables; ++s) base += kSyllables[rng.Below(kNumSyllables)];
    base[0] = static_cast<char>(base[0] - 'a' + 'A');
    if (investor) {
      base += kInvestorSuffixes[rng.Below(5)];
    } else {
      base += kOrgSuffixes[rng.Below(sizeof(kOrgSuffixes) / sizeof(kOrgSuffixes[0]))];
    }
    if (rng.Chance(0.06)) {
      o.name = StrCat(kNonAsciiWords[rng.Below(sizeof(kNonAsciiWords) / sizeof(char*))], " ", base);
    } else {
      o.name = base;
    }
    o.lower_name = ToLower(o.name);
    std::string slug = Slugify(o.name);
    if (slug.empty()) slug = "org";
    o.permalink = UniquePermalink(slug, o.uuid, &d->org_by_permalink, i);

    o.num_categories = static_cast<uint8_t>(std::min<uint64_t>(rng.Below(7), 5));
    for (int k = 0; k < o.num_categories;) {
      uint8_t c = static_cast<uint8_t>(rng.Below(kNumCategories));
      if (std::find(o.categories, o.categories + k, c) != o.categories + k) continue;
      o.categories[k++] = c;
    }
    std::sort(o.categories, o.categories + o.num_categories, [&](uint8_t a, uint8_t b) {
      return std::string_view(kCategories[a]) < std::string_view(kCategories[b]);
    });
    o.city = rng.Chance(0.92) ? static_cast<int16_t>(rng.Below(kNumCities)) : -1;
    if (rng.Chance(0.8)) {
      int64_t day =
          DaysFromCivil(rng.Between(1990, 2023), static_cast<unsigned>(rng.Between(1, 12)),
                        static_cast<unsigned>(rng.Between(1, 28)));
      double p = rng.Unit();
      o.founded_precision = p < 0.6 ? 1 : p < 0.85 ? 2 : 3;
      int64_t y;
      unsigned m, dd;
      CivilFromDays(day, &y, &m, &dd);
      if (o.founded_precision == 2) day = DaysFromCivil(y, m, 1);
      if (o.founded_precision == 3) day = DaysFromCivil(y, 1, 1);
      o.founded_on = static_cast<int32_t>(day);
    }
    o.created_at = RandomTime(rng, kEpoch2015, DateSeconds(2024, 6, 30));
    o.updated_at = RandomTime(rng, o.created_at, kEnd2025);
    o.rank_org = ranks[i];
    o.operating_status = rng.Chance(0.9) ? 0 : 1;
    o.company_type = rng.Chance(0.93) ? 0 : 1;
    o.ipo_status = rng.Chance(0.95) ? 0 : 1;
    o.employees = rng.Chance(0.6) ? static_cast<uint8_t>(1 + rng.Below(9)) : 0;
    o.revenue = rng.Chance(0.3) ? static_cast<uint8_t>(1 + rng.Below(8)) : 0;
    if (rng.Chance(0.85)) {
      std::string host = Slugify(base);
      host.erase(std::remove(host.begin(), host.end(), '-'), host.end());
      if (host.empty()) host = "org";
      o.domain = StrCat(host, rng.Chance(0.7) ? ".com" : ".io");
    }
    if (rng.Chance(0.7)) o.flags |= internal::kOrgImage;
    if (rng.Chance(0.5)) o.flags |= internal::kOrgLinkedin;
    if (rng.Chance(0.4)) o.flags |= internal::kOrgTwitter;
    if (rng.Chance(0.4)) o.flags |= internal::kOrgDescription;
    if (rng.Chance(0.2)) o.flags |= internal::kOrgLegalName;
    if (rng.Chance(0.3)) o.flags |= internal::kOrgEmail;
    if (rng.Chance(0.2)) o.flags |= internal::kOrgPhone;
    std::string what =
        o.num_categories > 0 ? ToLower(kCategories[o.categories[0]]) : std::string("technology");
    o.short_description =
        investor ? StrCat(o.name, " is an investment firm backing ", what, " companies.")
                 : StrCat(o.name, " is ", kAdjectives[rng.Below(6)], " ", what, " company",
                          o.city >= 0 ? StrCat(" based in ", kCities[o.city].city) : "", ".");
  }
}

void GeneratePeople(Data* d) {
  const uint64_t seed = d->seed;
  const int n = std::max(1, d->num_orgs / 2);
  d->people.resize(n);
  std::vector<int32_t> ranks(n);
  for (int i = 0; i < n; ++i) ranks[i] = i + 1;
  Rng rank_rng(seed, kStreamRank, 1);
  for (int i = n - 1; i > 0; --i) std::swap(ranks[i], ranks[rank_rng.Below(i + 1)]);
  d->person_by_permalink.reserve(n * 2);
  for (int i = 0; i < n; ++i) {
    Rng rng(seed, kStreamPerson, i);
    Person& p = d->people[i];
    p.uuid = MakeUuid(seed, kStreamPerson, i);
    p.first = static_cast<uint16_t>(rng.Below(kNumFirstNames));
    p.last = static_cast<uint16_t>(rng.Below(kNumLastNames));
    p.lower_name = ToLower(d->PersonName(i));
    p.permalink =
        UniquePermalink(StrCat(d->first_name_slugs[p.first], "-", d->last_name_slugs[p.last]),
                        p.uuid, &d->person_by_permalink, i);
    bool investor = rng.Chance(0.2);
    if (investor) p.flags |= internal::kPersonInvestor;
    if (rng.Chance(0.8)) {
      p.primary_org = static_cast<int32_t>(rng.Below(d->orgs.size()));
      if (rng.Chance(0.5)) {
        p.flags |= internal::kPersonFounder;
        p.title = static_cast<uint8_t>(rng.Below(3));
        d->orgs[p.primary_org].founders.push_back(i);
      } else {
        p.title = static_cast<uint8_t>(3 + rng.Below(investor ? 7 : 4));
      }
    }
    p.city = rng.Chance(0.7) ? static_cast<int16_t>(rng.Below(kNumCities)) : -1;
    if (rng.Chance(0.3)) {
      p.born_on = static_cast<int32_t>(DaysFromCivil(rng.Between(1950, 2000),
                                                     static_cast<unsigned>(rng.Between(1, 12)),
                                                     static_cast<unsigned>(rng.Between(1, 28))));
    }
    if (rng.Chance(0.6)) p.flags |= internal::kPersonImage;
    if (rng.Chance(0.5)) p.flags |= internal::kPersonLinkedin;
    if (rng.Chance(0.3)) p.flags |= internal::kPersonDescription;
    p.rank_person = ranks[i];
    p.created_at = RandomTime(rng, kEpoch2015, DateSeconds(2024, 6, 30));
    p.updated_at = RandomTime(rng, p.created_at, kEnd2025);
  }
}

void GenerateRounds(Data* d) {
  const uint64_t seed = d->seed;
  std::vector<uint32_t> org_investors, person_investors;
  for (uint32_t i = 0; i < d->orgs.size(); ++i) {
    if (d->orgs[i].flags & internal::kOrgInvestor) org_investors.push_back(i);
  }
  for (uint32_t i = 0; i < d->people.size(); ++i) {
    if (d->people[i].flags & internal::kPersonInvestor) person_investors.push_back(i);
  }
  d->rounds.reserve(d->orgs.size() * 3 / 2 + 16);
  d->investments.reserve(d->orgs.size() * 9 / 2 + 16);
  const int64_t start_2005 = DaysFromCivil(2005, 1, 1);
  const int64_t end_rounds = DaysFromCivil(2025, 6, 30);
  for (uint32_t oi = 0; oi < d->orgs.size(); ++oi) {
    Org& o = d->orgs[oi];
    Rng rng(seed, kStreamRound, oi);
    double r = rng.Unit();
    int count = r < 0.30 ? 0 : r < 0.55 ? 1 : r < 0.75 ? 2 : r < 0.90 ? 3 : 4;
    int64_t first_day = std::max<int64_t>(start_2005, o.founded_on == kNoDate ? 0 : o.founded_on);
    if (first_day > end_rounds) first_day = end_rounds - 30;
    std::vector<int64_t> days;
    for (int k = 0; k < count; ++k) days.push_back(rng.Between(first_day, end_rounds));
    std::sort(days.begin(), days.end());
    int progression = rng.Chance(0.5) ? 1 : 0;  // start at seed or pre-seed
    for (int k = 0; k < count; ++k) {
      uint32_t ri = static_cast<uint32_t>(d->rounds.size());
      d->rounds.emplace_back();
      Round& rd = d->rounds.back();
      rd.uuid = MakeUuid(seed, kStreamRound, ri);
      rd.org = oi;
      rd.announced_on = static_cast<int32_t>(days[k]);
      if (rng.Chance(0.15)) {
        rd.type = static_cast<uint8_t>(kFirstOddRoundType +
                                       rng.Below(kNumRoundTypes - kFirstOddRoundType));
      } else {
        rd.type = static_cast<uint8_t>(std::min(progression++, kFirstOddRoundType - 1));
      }
      const RoundType& type = kRoundTypes[rd.type];
      if (rng.Chance(0.85)) rd.money = RandomMoney(rng, type.min_usd, type.max_usd);
      rd.rank = static_cast<int32_t>(1 + Mix(rd.uuid.lo) % 5000000);
      int64_t announced = days[k] * kDay + rng.Between(0, kDay - 1);
      rd.created_at = std::clamp<int64_t>(announced + rng.Between(0, 30 * kDay),
                                          kEpoch2015 + rng.Between(0, 300 * kDay), kEnd2025);
      rd.updated_at = rng.Between(rd.created_at, kEnd2025);
      o.rounds.push_back(ri);
      if (rd.money.present()) o.funding_total_usd += rd.money.usd();
      o.last_funding_on = rd.announced_on;
      o.last_funding_type = rd.type;

      // Investments: 1-5 distinct investors, the first one often leads.
      int num = static_cast<int>(rng.Between(1, 5));
      std::vector<EntityRef> chosen;
      for (int attempt = 0; static_cast<int>(chosen.size()) < num && attempt < 20; ++attempt) {
        EntityRef inv;
        // Popularity is skewed (u^2): a few investors take part in hundreds of rounds.
        auto skewed = [&](size_t n) {
          double u = rng.Unit();
          return std::min(n - 1, static_cast<size_t>(static_cast<double>(n) * u * u));
        };
        if ((rng.Chance(0.7) || person_investors.empty()) && !org_investors.empty()) {
          inv = {Collection::kOrganizations, org_investors[skewed(org_investors.size())]};
        } else if (!person_investors.empty()) {
          inv = {Collection::kPeople, person_investors[skewed(person_investors.size())]};
        } else {
          inv = {Collection::kOrganizations, static_cast<uint32_t>(rng.Below(d->orgs.size()))};
        }
        if (inv.collection == Collection::kOrganizations && inv.index == oi) continue;
        if (std::find(chosen.begin(), chosen.end(), inv) != chosen.end()) continue;
        chosen.push_back(inv);
      }
      for (size_t c = 0; c < chosen.size(); ++c) {
        uint32_t ii = static_cast<uint32_t>(d->investments.size());
        d->investments.emplace_back();
        Investment& inv = d->investments.back();
        inv.uuid = MakeUuid(seed, kStreamInvestment, ii);
        inv.round = ri;
        inv.investor = chosen[c].index;
        inv.investor_is_person = chosen[c].collection == Collection::kPeople;
        inv.lead = (c == 0 && rng.Chance(0.6)) || (c == 1 && rng.Chance(0.1));
        if (rd.money.present() && rng.Chance(0.3)) {
          inv.money = rd.money;
          inv.money.value = std::round(rd.money.value / static_cast<double>(chosen.size()));
          inv.money.is_float = false;
        }
        inv.created_at = std::min(kEnd2025, rd.created_at + rng.Between(0, 5 * kDay));
        inv.updated_at = rng.Between(inv.created_at, kEnd2025);
        rd.investments.push_back(ii);
        if (inv.investor_is_person) {
          d->people[inv.investor].investments_made.push_back(ii);
        } else {
          d->orgs[inv.investor].investments_made.push_back(ii);
        }
      }
    }
  }
}

void GenerateAcquisitions(Data* d) {
  const uint64_t seed = d->seed;
  const uint32_t n = static_cast<uint32_t>(d->orgs.size());
  if (n < 2) return;
  uint32_t count = n / 20;
  Rng pick(seed, kStreamAcquisitionPick, 0);
  for (uint32_t ai = 0; ai < count; ++ai) {
    Rng rng(seed, kStreamAcquisition, ai);
    uint32_t acquiree = static_cast<uint32_t>(pick.Below(n));
    uint32_t acquirer = static_cast<uint32_t>(pick.Below(n));
    if (acquiree == acquirer || d->orgs[acquiree].acquired_in >= 0) continue;
    uint32_t index = static_cast<uint32_t>(d->acquisitions.size());
    d->acquisitions.emplace_back();
    Acquisition& a = d->acquisitions.back();
    a.uuid = MakeUuid(seed, kStreamAcquisition, index);
    a.acquiree = acquiree;
    a.acquirer = acquirer;
    int64_t lo = DaysFromCivil(2010, 1, 1);
    if (d->orgs[acquiree].founded_on != kNoDate) {
      lo = std::max<int64_t>(lo, d->orgs[acquiree].founded_on + 180);
    }
    int64_t hi = DaysFromCivil(2025, 6, 30);
    if (lo > hi) lo = hi - 30;
    int64_t day = rng.Between(lo, hi);
    a.announced_precision = rng.Chance(0.9) ? 1 : 2;
    if (a.announced_precision == 2) {
      int64_t y;
      unsigned m, dd;
      CivilFromDays(day, &y, &m, &dd);
      day = DaysFromCivil(y, m, 1);
    }
    a.announced_on = static_cast<int32_t>(day);
    a.status = rng.Chance(0.85) ? 0 : 1;
    if (a.status == 0 && rng.Chance(0.7)) {
      a.completed_on = static_cast<int32_t>(day + rng.Between(0, 300));
    }
    a.type = static_cast<uint8_t>(rng.Chance(0.85) ? 0 : 1 + rng.Below(2));
    a.disposition = static_cast<uint8_t>(rng.Below(3));
    if (rng.Chance(0.4)) a.price = RandomMoney(rng, 1e6, 2e9);
    a.rank = static_cast<int32_t>(1 + Mix(a.uuid.lo) % 500000);
    a.created_at = std::clamp<int64_t>(day * kDay + rng.Between(0, 10 * kDay),
                                       kEpoch2015 + rng.Between(0, 300 * kDay), kEnd2025);
    a.updated_at = rng.Between(a.created_at, kEnd2025);
    d->orgs[acquiree].acquired_in = static_cast<int32_t>(index);
    d->orgs[acquirer].acquisitions_made.push_back(index);
  }
}

void GenerateHistoricalDeletions(Data* d) {
  const uint64_t seed = d->seed;
  struct Quota {
    Collection c;
    int count;
  };
  const Quota quotas[] = {
      {Collection::kOrganizations, std::max(1, d->num_orgs / 50)},
      {Collection::kPeople, std::max(1, d->num_orgs / 100)},
      {Collection::kFundingRounds, std::max(1, d->num_orgs / 100)},
      {Collection::kInvestments, std::max(1, d->num_orgs / 100)},
      {Collection::kAcquisitions, std::max(1, d->num_orgs / 500)},
  };
  uint64_t k = 0;
  for (const Quota& q : quotas) {
    for (int i = 0; i < q.count; ++i, ++k) {
      Rng rng(seed, kStreamDeleted, k);
      DeletedEntity e;
      e.uuid = MakeUuid(seed, kStreamDeleted, k);
      e.collection = q.c;
      e.deleted_at = rng.Between(DateSeconds(2019, 1, 1), DateSeconds(2025, 6, 30));
      d->deleted.push_back(e);
    }
  }
}

bool DeletedLess(const DeletedEntity& a, const DeletedEntity& b) {
  if (a.deleted_at != b.deleted_at) return a.deleted_at < b.deleted_at;
  return a.uuid < b.uuid;
}

void BuildIndexes(Data* d) {
  d->uuid_index.clear();
  for (int c = 0; c < kNumCollections; ++c) {
    auto coll = static_cast<Collection>(c);
    uint32_t n = d->Size(coll);
    for (uint32_t i = 0; i < n; ++i) d->uuid_index.push_back({d->UuidOf({coll, i}), {coll, i}});
  }
  std::sort(
      d->uuid_index.begin(), d->uuid_index.end(),
      [](const internal::UuidEntry& a, const internal::UuidEntry& b) { return a.uuid < b.uuid; });
}

void CountLive(Data* d) {
  for (int c = 0; c < kNumCollections; ++c) {
    auto coll = static_cast<Collection>(c);
    size_t live = 0;
    uint32_t n = d->Size(coll);
    for (uint32_t i = 0; i < n; ++i) live += d->Live({coll, i}) ? 1 : 0;
    d->live_count[c] = live;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Dataset.

Dataset::Dataset(int num_orgs, uint64_t seed) : data_(std::make_unique<Data>()) {
  Data* d = data_.get();
  d->num_orgs = std::max(1, num_orgs);
  d->seed = seed;
  BuildReferenceTables(d);
  GenerateOrganizations(d);
  GeneratePeople(d);
  GenerateRounds(d);
  GenerateAcquisitions(d);
  d->address_uuids.resize(d->orgs.size());
  for (uint32_t i = 0; i < d->orgs.size(); ++i) {
    d->address_uuids[i] = MakeUuid(seed, kStreamAddress, i);
  }
  GenerateHistoricalDeletions(d);
  std::sort(d->deleted.begin(), d->deleted.end(), DeletedLess);
  BuildIndexes(d);
  CountLive(d);

  BuildOrganizationFields(&d->fields[static_cast<int>(Collection::kOrganizations)]);
  BuildPersonFields(&d->fields[static_cast<int>(Collection::kPeople)]);
  BuildFundingRoundFields(&d->fields[static_cast<int>(Collection::kFundingRounds)]);
  BuildInvestmentFields(&d->fields[static_cast<int>(Collection::kInvestments)]);
  BuildAcquisitionFields(&d->fields[static_cast<int>(Collection::kAcquisitions)]);
  BuildAddressFields(&d->fields[static_cast<int>(Collection::kAddresses)]);
  for (int c = 0; c < kNumCollections; ++c) {
    for (size_t k = 0; k < d->fields[c].size(); ++k) d->field_index[c][d->fields[c][k].name] = k;
  }
  BuildCards(d);
}

Dataset::~Dataset() = default;

int Dataset::num_orgs() const { return data_->num_orgs; }
uint64_t Dataset::seed() const { return data_->seed; }
uint32_t Dataset::Size(Collection c) const { return data_->Size(c); }
bool Dataset::IsLive(EntityRef ref) const { return data_->Live(ref); }
size_t Dataset::Count(Collection c) const { return data_->live_count[static_cast<int>(c)]; }

std::vector<EntityRef> Dataset::All(Collection c) const {
  std::vector<EntityRef> out;
  uint32_t n = Size(c);
  out.reserve(Count(c));
  for (uint32_t i = 0; i < n; ++i) {
    if (data_->Live({c, i})) out.push_back({c, i});
  }
  return out;
}

std::optional<EntityRef> Dataset::FindAnyByUuid(Collection c, const Uuid& uuid) const {
  const auto& idx = data_->uuid_index;
  auto it =
      std::lower_bound(idx.begin(), idx.end(), uuid,
                       [](const internal::UuidEntry& e, const Uuid& u) { return e.uuid < u; });
  for (; it != idx.end() && it->uuid == uuid; ++it) {
    if (it->ref.collection == c) return it->ref;
  }
  return std::nullopt;
}

std::optional<EntityRef> Dataset::Find(Collection c, std::string_view id) const {
  const Data& d = *data_;
  std::optional<EntityRef> found;
  if (std::optional<Uuid> u = Uuid::Parse(id)) {
    found = FindAnyByUuid(c, *u);
  } else if (c == Collection::kOrganizations) {
    auto it = d.org_by_permalink.find(std::string(id));
    if (it != d.org_by_permalink.end()) found = EntityRef{c, it->second};
  } else if (c == Collection::kPeople) {
    auto it = d.person_by_permalink.find(std::string(id));
    if (it != d.person_by_permalink.end()) found = EntityRef{c, it->second};
  } else if (c != Collection::kAddresses) {
    // Derived permalinks end in "--" plus the first 8 hex digits of the uuid.
    size_t pos = id.rfind("--");
    if (pos != std::string_view::npos && id.size() - pos - 2 == 8) {
      uint64_t prefix = 0;
      bool ok = true;
      for (char ch : id.substr(pos + 2)) {
        int v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (v < 0) ok = false;
        prefix = (prefix << 4) | static_cast<uint64_t>(v < 0 ? 0 : v);
      }
      if (ok) {
        const auto& idx = d.uuid_index;
        auto it = std::lower_bound(
            idx.begin(), idx.end(), Uuid{prefix << 32, 0},
            [](const internal::UuidEntry& e, const Uuid& u) { return e.uuid < u; });
        for (; it != idx.end() && (it->uuid.hi >> 32) == prefix; ++it) {
          if (it->ref.collection == c && d.Permalink(it->ref) == id) {
            found = it->ref;
            break;
          }
        }
      }
    }
  }
  if (found && !d.Live(*found)) return std::nullopt;
  return found;
}

Uuid Dataset::UuidOf(EntityRef ref) const { return data_->UuidOf(ref); }
std::string Dataset::Permalink(EntityRef ref) const { return data_->Permalink(ref); }
std::string Dataset::Name(EntityRef ref) const { return data_->Name(ref); }

std::string_view Dataset::LowerName(EntityRef ref) const {
  if (ref.collection == Collection::kOrganizations) return data_->orgs[ref.index].lower_name;
  if (ref.collection == Collection::kPeople) return data_->people[ref.index].lower_name;
  return {};
}

int64_t Dataset::UpdatedAt(EntityRef ref) const {
  const Data& d = *data_;
  switch (ref.collection) {
    case Collection::kOrganizations:
      return d.orgs[ref.index].updated_at;
    case Collection::kPeople:
      return d.people[ref.index].updated_at;
    case Collection::kFundingRounds:
      return d.rounds[ref.index].updated_at;
    case Collection::kInvestments:
      return d.investments[ref.index].updated_at;
    case Collection::kAcquisitions:
      return d.acquisitions[ref.index].updated_at;
    case Collection::kAddresses:
      return d.orgs[ref.index].created_at;
  }
  return 0;
}

const std::vector<FieldDef>& Dataset::Fields(Collection c) const {
  return data_->fields[static_cast<int>(c)];
}

const FieldDef* Dataset::FindField(Collection c, std::string_view name) const {
  const auto& index = data_->field_index[static_cast<int>(c)];
  auto it = index.find(std::string(name));
  if (it == index.end()) return nullptr;
  return &data_->fields[static_cast<int>(c)][it->second];
}

void Dataset::WriteField(const FieldDef& field, uint32_t index, JsonWriter& w) const {
  field.write(*data_, index, w);
}

FieldValue Dataset::Value(const FieldDef& field, uint32_t index) const {
  return field.value(*data_, index);
}

void Dataset::WriteProperties(EntityRef ref, const std::vector<const FieldDef*>& fields,
                              JsonWriter& w) const {
  w.BeginObject();
  if (fields.empty()) {
    for (const FieldDef& f : Fields(ref.collection)) f.write(*data_, ref.index, w);
  } else {
    for (const FieldDef* f : fields) f->write(*data_, ref.index, w);
  }
  w.EndObject();
}

nlohmann::json Dataset::Properties(EntityRef ref) const {
  std::string out;
  JsonWriter w(&out);
  WriteProperties(ref, {}, w);
  return nlohmann::json::parse(out);
}

const std::vector<CardDef>& Dataset::Cards(Collection c) const {
  return data_->cards[static_cast<int>(c)];
}

const CardDef* Dataset::FindCard(Collection c, std::string_view name) const {
  for (const CardDef& card : Cards(c)) {
    if (card.name == name) return &card;
  }
  return nullptr;
}

std::vector<uint32_t> Dataset::CardItems(const CardDef& card, uint32_t index) const {
  std::vector<uint32_t> items = data_->LiveOf(card.items(*data_, index), card.item_collection);
  std::sort(items.begin(), items.end(), [&](uint32_t a, uint32_t b) {
    return data_->UuidOf({card.item_collection, a}) < data_->UuidOf({card.item_collection, b});
  });
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

const std::vector<DeletedEntity>& Dataset::deleted() const { return data_->deleted; }

MutationResult Dataset::Mutate(int update, int remove, std::string now_iso) {
  Data& d = *data_;
  std::optional<int64_t> parsed = ParseTimestamp(now_iso);
  int64_t now = parsed ? *parsed
                       : std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  Rng rng(d.seed, kStreamMutation, d.mutations++);
  std::vector<uint32_t> live;
  for (uint32_t i = 0; i < d.orgs.size(); ++i) {
    if (!d.orgs[i].deleted) live.push_back(i);
  }
  size_t want = std::min(live.size(), static_cast<size_t>(std::max(0, update)) +
                                          static_cast<size_t>(std::max(0, remove)));
  for (size_t k = 0; k < want; ++k) {  // partial Fisher-Yates
    size_t j = k + rng.Below(live.size() - k);
    std::swap(live[k], live[j]);
  }
  size_t num_remove = std::min(want, static_cast<size_t>(std::max(0, remove)));
  MutationResult result;
  std::vector<DeletedEntity> new_deleted;
  std::unordered_set<uint32_t> cascade_updated_orgs;
  std::unordered_set<uint32_t> touched_people;
  auto delete_investment = [&](uint32_t ii) {
    Investment& inv = d.investments[ii];
    if (inv.deleted) return;
    inv.deleted = true;
    new_deleted.push_back({inv.uuid, Collection::kInvestments, now});
    result.cascade_deleted.push_back(inv.uuid.ToString());
    Round& rd = d.rounds[inv.round];
    if (!rd.deleted && rd.updated_at != now) {
      rd.updated_at = now;
      result.cascade_updated.push_back(rd.uuid.ToString());
    }
    cascade_updated_orgs.insert(rd.org);  // its investor_identifiers changed
    if (inv.investor_is_person) {
      touched_people.insert(inv.investor);
    } else {
      cascade_updated_orgs.insert(inv.investor);
    }
  };
  auto delete_acquisition = [&](uint32_t ai) {
    Acquisition& a = d.acquisitions[ai];
    if (a.deleted) return;
    a.deleted = true;
    new_deleted.push_back({a.uuid, Collection::kAcquisitions, now});
    result.cascade_deleted.push_back(a.uuid.ToString());
    Org& acquiree = d.orgs[a.acquiree];
    if (acquiree.acquired_in == static_cast<int32_t>(ai)) acquiree.acquired_in = -1;
    cascade_updated_orgs.insert(a.acquiree);
    cascade_updated_orgs.insert(a.acquirer);
  };
  for (size_t k = 0; k < num_remove; ++k) {
    uint32_t oi = live[k];
    Org& o = d.orgs[oi];
    o.deleted = true;
    new_deleted.push_back({o.uuid, Collection::kOrganizations, now});
    result.deleted.push_back(o.uuid.ToString());
    for (uint32_t ri : o.rounds) {
      Round& rd = d.rounds[ri];
      rd.deleted = true;
      new_deleted.push_back({rd.uuid, Collection::kFundingRounds, now});
      result.cascade_deleted.push_back(rd.uuid.ToString());
      for (uint32_t ii : rd.investments) delete_investment(ii);
    }
    for (uint32_t ii : o.investments_made) delete_investment(ii);
    for (uint32_t ai : o.acquisitions_made) delete_acquisition(ai);
    if (o.acquired_in >= 0) delete_acquisition(static_cast<uint32_t>(o.acquired_in));
  }
  for (uint32_t pi = 0; pi < d.people.size(); ++pi) {
    Person& p = d.people[pi];
    bool orphaned = p.primary_org >= 0 && d.orgs[p.primary_org].deleted;
    if (orphaned || touched_people.count(pi) > 0) {
      p.updated_at = now;
      result.cascade_updated.push_back(p.uuid.ToString());
    }
    if (orphaned) {
      uint32_t org = static_cast<uint32_t>(p.primary_org);
      auto& founders = d.orgs[org].founders;
      founders.erase(std::remove(founders.begin(), founders.end(), pi), founders.end());
      p.primary_org = -1;
      p.flags &= static_cast<uint8_t>(~internal::kPersonFounder);
    }
  }
  for (size_t k = num_remove; k < want; ++k) {
    uint32_t oi = live[k];
    Org& o = d.orgs[oi];
    o.updated_at = now;
    switch (rng.Below(4)) {
      case 0: {
        size_t cut = o.short_description.find(" Updated ");
        if (cut != std::string::npos) o.short_description.resize(cut);
        o.short_description += StrCat(" Updated ", FormatTimestamp(now), ".");
        break;
      }
      case 1:
        o.employees = static_cast<uint8_t>(1 + o.employees % 9);
        break;
      case 2: {
        std::string host =
            o.domain.empty() ? Slugify(o.name) : o.domain.substr(0, o.domain.find('.'));
        o.domain = StrCat(host, o.domain.ends_with(".ai") ? ".co" : ".ai");
        break;
      }
      default:
        o.operating_status = o.operating_status == 0 ? 1 : 0;
    }
    result.updated.push_back(o.uuid.ToString());
    cascade_updated_orgs.erase(oi);
  }
  std::vector<uint32_t> cascade(cascade_updated_orgs.begin(), cascade_updated_orgs.end());
  std::sort(cascade.begin(), cascade.end());  // deterministic output order
  for (uint32_t oi : cascade) {
    if (d.orgs[oi].deleted) continue;
    d.orgs[oi].updated_at = now;
    result.cascade_updated.push_back(d.orgs[oi].uuid.ToString());
  }
  d.deleted.insert(d.deleted.end(), new_deleted.begin(), new_deleted.end());
  std::sort(d.deleted.begin(), d.deleted.end(), DeletedLess);
  CountLive(&d);
  return result;
}

}  // namespace watershed::emulators::crunchbase
