// bench/normalize/gen_crunchbase.cc — writes deterministic Crunchbase-shaped NDJSON for the
// normalize benchmark.
//
//   gen_crunchbase (--records N | --mb M) [--seed S] --out FILE|-
//
// One organization per line (~1 KB), shaped like the recorded Crunchbase API v4 responses in
// ../shared/fixtures/crunchbase/recorded/ (the `properties` of an organization entity): an
// `identifier` object, arrays of identifier objects (categories, locations, founders), money
// objects {value, currency, value_usd} with integer or float values, dates as strings or
// {value, precision} objects, sparse fields (absent keys, never null), non-ASCII text and
// escaped strings (\" \\ \n \t and, in ~20% of records, every non-ASCII character as \uXXXX with
// surrogate pairs, as Python's json.dumps writes it). Record i depends only on (seed, i): the
// same seed gives byte-identical output, and a smaller --records run is a prefix of a larger.
// --mb M writes whole records until at least M MiB (M * 2^20 bytes) are written.
// Owns only this program; depends only on the C++ standard library. Single-threaded.
// Over 600 lines on purpose: a self-contained generator program (no library of its own).
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64, with range reduction that does not depend on the standard library's
// distributions (those differ between implementations; this output must not).

uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return Mix64(state_);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Percent(int p) { return Below(100) < static_cast<uint64_t>(p); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t state_;
};

uint64_t HashName(std::string_view s) {  // FNV-1a, for fixed per-entity uuids
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

std::string Uuid(Rng& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = rng.Next(), b = rng.Next();
  std::string out(36, '-');
  int k = 0;
  for (int i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    uint64_t& src = k < 16 ? a : b;
    out[i] = kHex[src & 0xF];
    src >>= 4;
    ++k;
  }
  return out;
}

std::string UuidFor(std::string_view name) {
  Rng rng(HashName(name));
  return Uuid(rng);
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

constexpr const char* kNameHeads[] = {
    "Nova",  "Blue",   "Quantum", "Bright", "Open",  "Hyper", "Green", "Data",  "Cloud",
    "Deep",  "Smart",  "Rapid",   "Clear",  "True",  "Next",  "Pixel", "Iron",  "Silver",
    "Lumen", "Vector", "Atlas",   "Polar",  "Echo",  "Cedar", "Orbit", "Prism", "Kite",
    "Fable", "Harbor", "Signal",  "Summit", "Tidal", "Umbra", "Vivid", "Wren",  "Zephyr"};
constexpr const char* kNameTails[] = {
    "Labs",     "AI",        "Systems",   "Health",   "Pay",      "Works",    "Bio",
    "Robotics", "Logistics", "Analytics", "Energy",   "Foods",    "Studio",   "Networks",
    "Capital",  "Security",  "Mobility",  "Learning", "Commerce", "Genomics", "Insurance"};
// Non-ASCII names, as UTF-8.
constexpr const char* kIntlNames[] = {
    "Caf\xc3\xa9 Lumi\xc3\xa8re",                                    // Café Lumière
    "Cr\xc3\xa8me Analytics",                                        // Crème Analytics
    "M\xc3\xbcller & S\xc3\xb6hne",                                  // Müller & Söhne
    "\xe6\x97\xa5\xe6\x9c\xac\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf",  // 日本データ
    "\xe6\x9d\xb1\xe4\xba\xac\xe3\x83\xad\xe3\x83\x9c\xe3\x83\x86\xe3\x82\xa3\xe3\x82\xaf"
    "\xe3\x82\xb9",                                                  // 東京ロボティクス
    "\xc3\x85ngstr\xc3\xb6m Bio",                                    // Ångström Bio
    "Rocket \xf0\x9f\x9a\x80 Labs",                                  // Rocket 🚀 Labs
    "Se\xc3\xb1or Pago",                                             // Señor Pago
    "Z\xc3\xbcrich Quant",                                           // Zürich Quant
    "\xe5\x8c\x97\xe4\xba\xac\xe4\xba\x91\xe8\xae\xa1\xe7\xae\x97",  // 北京云计算
    "\xc3\x9cnl\xc3\xbc Yaz\xc4\xb1l\xc4\xb1m",                      // Ünlü Yazılım
    "Green \xf0\x9f\x8c\xb1 Foods",                                  // Green 🌱 Foods
};
constexpr const char* kFirstNames[] = {
    "Maxime", "Ana",  "Wei",    "Priya",  "Jos\xc3\xa9", "Zo\xc3\xab", "Kenji",
    "Amara",  "Lars", "Fatima", "Oliver", "Chen",        "Sofia",      "Tom\xc3\xa1\xc5\xa1"};
constexpr const char* kLastNames[] = {"Guilbot",
                                      "Garc\xc3\xad"
                                      "a",
                                      "Li",
                                      "Patel",
                                      "Smith",
                                      "Tanaka",
                                      "Okafor",
                                      "Berg",
                                      "\xc3\x85str\xc3\xb6m",
                                      "Novak",
                                      "M\xc3\xbcller",
                                      "Kim",
                                      "O'Brien"};
constexpr const char* kCategories[] = {"Apps",
                                       "Artificial Intelligence",
                                       "Big Data",
                                       "Blockchain",
                                       "Cryptocurrency",
                                       "E-Commerce",
                                       "Enterprise Software",
                                       "FinTech",
                                       "Health Care",
                                       "iOS",
                                       "Machine Learning",
                                       "Retail",
                                       "UX Design",
                                       "SaaS",
                                       "Biotechnology",
                                       "Logistics",
                                       "Clean Energy",
                                       "Cyber Security",
                                       "EdTech",
                                       "Robotics",
                                       "Marketplace",
                                       "Insurance",
                                       "Food and Beverage",
                                       "Mobile Payments",
                                       "Gaming"};
constexpr const char* kVerbs[] = {"builds",   "develops", "operates",
                                  "provides", "designs",  "offers"};
constexpr const char* kObjects[] = {"a platform for small businesses",
                                    "payment infrastructure for marketplaces",
                                    "AI tools for radiologists",
                                    "software that automates freight booking",
                                    "a marketplace for second-hand goods",
                                    "privacy-first analytics for mobile apps",
                                    "batteries for grid storage",
                                    "a learning app for children",
                                    "security monitoring for cloud workloads",
                                    "robots for warehouse picking"};
constexpr const char* kFundingTypes[] = {"seed",
                                         "series_a",
                                         "series_b",
                                         "series_c",
                                         "angel",
                                         "pre_seed",
                                         "grant",
                                         "debt_financing",
                                         "venture_series_unknown",
                                         "convertible_note",
                                         "corporate_round",
                                         "private_equity",
                                         "post_ipo_equity",
                                         "undisclosed"};
constexpr const char* kEmployeeEnums[] = {"c_00001_00010", "c_00011_00050", "c_00051_00100",
                                          "c_00101_00250", "c_00251_00500", "c_00501_01000",
                                          "c_01001_05000", "c_05001_10000", "c_10001_max"};
constexpr const char* kRevenueRanges[] = {"r_00000000", "r_00001000", "r_00010000", "r_00050000",
                                          "r_00100000", "r_00500000", "r_01000000", "r_10000000"};
constexpr const char* kPrecisions[] = {"day", "month", "year"};

struct Currency {
  const char* code;
  double usd_rate;
};
constexpr Currency kCurrencies[] = {{"USD", 1.0},   {"USD", 1.0},  {"USD", 1.0},    {"USD", 1.0},
                                    {"USD", 1.0},   {"USD", 1.0},  {"USD", 1.0},    {"USD", 1.0},
                                    {"EUR", 1.08},  {"GBP", 1.27}, {"JPY", 0.0067}, {"CNY", 0.14},
                                    {"INR", 0.012}, {"EUR", 1.08}};

struct Place {
  const char* city;
  const char* city_link;
  const char* region;
  const char* region_link;
  const char* country;
  const char* country_link;
  const char* continent;
  const char* continent_link;
};
constexpr Place kPlaces[] = {
    {"San Francisco", "san-francisco-california", "California", "california-united-states",
     "United States", "united-states", "North America", "north-america"},
    {"New York", "new-york-new-york", "New York", "new-york-united-states", "United States",
     "united-states", "North America", "north-america"},
    {"London", "london-england", "England", "england-united-kingdom", "United Kingdom",
     "united-kingdom", "Europe", "europe"},
    {"Berlin", "berlin-berlin", "Berlin", "berlin-germany", "Germany", "germany", "Europe",
     "europe"},
    {"Paris", "paris-ile-de-france", "\xc3\x8ele-de-France", "ile-de-france-france", "France",
     "france", "Europe", "europe"},
    {"Z\xc3\xbcrich", "zurich-zurich", "Zurich", "zurich-switzerland", "Switzerland", "switzerland",
     "Europe", "europe"},
    {"S\xc3\xa3o Paulo", "sao-paulo-sao-paulo", "Sao Paulo", "sao-paulo-brazil", "Brazil", "brazil",
     "South America", "south-america"},
    {"Bogot\xc3\xa1", "bogota-distrito-especial", "Distrito Especial", "distrito-especial-colombia",
     "Colombia", "colombia", "South America", "south-america"},
    {"Shanghai", "shanghai-shanghai", "Shanghai", "shanghai-china", "China", "china-500a", "Asia",
     "asia"},
    {"Tokyo", "tokyo-tokyo", "Tokyo", "tokyo-japan", "Japan", "japan", "Asia", "asia"},
    {"Bangalore", "bangalore-karnataka", "Karnataka", "karnataka-india", "India", "india", "Asia",
     "asia"},
    {"Malm\xc3\xb6", "malmo-skane-lan", "Sk\xc3\xa5ne L\xc3\xa4n", "skane-lan-sweden", "Sweden",
     "sweden", "Europe", "europe"},
    {"Sydney", "sydney-new-south-wales", "New South Wales", "new-south-wales-australia",
     "Australia", "australia", "Oceania", "oceania"},
    {"Lagos", "lagos-lagos", "Lagos", "lagos-nigeria", "Nigeria", "nigeria", "Africa", "africa"},
    {"Montr\xc3\xa9"
     "al",
     "montreal-quebec", "Quebec", "quebec-canada", "Canada", "canada", "North America",
     "north-america"},
};
constexpr const char* kLocationGroups[][2] = {{"San Francisco Bay Area", "san-francisco-bay-area"},
                                              {"Greater New York Area", "greater-new-york-area"},
                                              {"European Union (EU)", "european-union"},
                                              {"Asia-Pacific (APAC)", "asia-pacific"},
                                              {"Latin America", "latin-america"}};

// ---------------------------------------------------------------------------------------------
// JSON writing.

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  // When set, non-ASCII characters are written as \uXXXX (surrogate pairs above U+FFFF).
  void set_ascii_only(bool ascii_only) { ascii_only_ = ascii_only; }

  void Raw(std::string_view s) { out_.append(s); }
  void Char(char c) { out_.push_back(c); }

  void String(std::string_view s) {
    out_.push_back('"');
    static constexpr char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      switch (c) {
        case '"':
          out_.append("\\\"");
          continue;
        case '\\':
          out_.append("\\\\");
          continue;
        case '\n':
          out_.append("\\n");
          continue;
        case '\t':
          out_.append("\\t");
          continue;
        case '\r':
          out_.append("\\r");
          continue;
        default:
          break;
      }
      if (c < 0x20) {
        out_.append("\\u00");
        out_.push_back(kHex[c >> 4]);
        out_.push_back(kHex[c & 0xF]);
      } else if (c < 0x80 || !ascii_only_) {
        out_.push_back(static_cast<char>(c));
      } else {
        // The vocabulary is valid UTF-8: decode one code point.
        int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        uint32_t cp = c & (0x3F >> extra);
        for (int k = 0; k < extra; ++k)
          cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F);
        if (cp >= 0x10000) {
          cp -= 0x10000;
          Escape(0xD800 + (cp >> 10));
          Escape(0xDC00 + (cp & 0x3FF));
        } else {
          Escape(cp);
        }
      }
    }
    out_.push_back('"');
  }

  void Int(int64_t v) {
    char buf[24];
    auto result = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, result.ptr);
  }

  // Shortest round-trip form: deterministic across platforms.
  void Double(double v) {
    char buf[32];
    auto result = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, result.ptr);
  }

  // Helpers for `"key":` with the separating comma.
  void Key(std::string_view key) {
    if (need_comma_) out_.push_back(',');
    out_.push_back('"');
    out_.append(key);
    out_.append("\":");
    need_comma_ = true;
  }
  void BeginObject() {
    out_.push_back('{');
    need_comma_ = false;
  }
  void EndObject() {
    out_.push_back('}');
    need_comma_ = true;
  }
  void BeginArray() {
    out_.push_back('[');
    need_comma_ = false;
  }
  void EndArray() {
    out_.push_back(']');
    need_comma_ = true;
  }
  void Element() {  // before each array element
    if (need_comma_) out_.push_back(',');
    need_comma_ = true;
  }

 private:
  void Escape(uint32_t unit) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_.append("\\u");
    for (int shift = 12; shift >= 0; shift -= 4) out_.push_back(kHex[(unit >> shift) & 0xF]);
  }

  std::string& out_;
  bool ascii_only_ = false;
  bool need_comma_ = false;
};

// ---------------------------------------------------------------------------------------------
// Dates (proleptic Gregorian, UTC).

struct Date {
  int year, month, day;
};

Date DateFromDays(int64_t days) {  // days since 1970-01-01
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400 + (month <= 2));
  return {year, month, day};
}

void AppendPadded(std::string& out, int v, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, width);
}

std::string DateString(const Date& d) {
  std::string s;
  AppendPadded(s, d.year, 4);
  s.push_back('-');
  AppendPadded(s, d.month, 2);
  s.push_back('-');
  AppendPadded(s, d.day, 2);
  return s;
}

std::string Timestamp(int64_t unix_seconds) {
  std::string s = DateString(DateFromDays(unix_seconds / 86400));
  int64_t rest = unix_seconds % 86400;
  s.push_back('T');
  AppendPadded(s, static_cast<int>(rest / 3600), 2);
  s.push_back(':');
  AppendPadded(s, static_cast<int>(rest / 60 % 60), 2);
  s.push_back(':');
  AppendPadded(s, static_cast<int>(rest % 60), 2);
  s.push_back('Z');
  return s;
}

// ---------------------------------------------------------------------------------------------
// One organization.

std::string Slug(std::string_view name) {
  std::string slug;
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug.push_back(static_cast<char>(c));
    } else if (c >= 'A' && c <= 'Z') {
      slug.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "org";
  return slug;
}

std::string ImageId(Rng& rng) {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bool versioned = rng.Percent(40);  // "v1500646625/zhionn8nlgbkz4lj7ilz.png" form
  std::string id;
  if (versioned) id = "v1" + std::to_string(rng.Between(400000000, 700000000)) + "/";
  for (int i = 0; i < 20; ++i) id.push_back(kAlnum[rng.Below(36)]);
  if (versioned) id += ".png";
  return id;
}

void IdentifierObject(Writer& w, std::string_view uuid, std::string_view value,
                      std::string_view permalink, std::string_view entity_def_id,
                      std::string_view location_type = {}, std::string_view image_id = {}) {
  w.BeginObject();
  w.Key("uuid");
  w.String(uuid);
  w.Key("value");
  w.String(value);
  if (!image_id.empty()) {
    w.Key("image_id");
    w.String(image_id);
  }
  if (!permalink.empty()) {
    w.Key("permalink");
    w.String(permalink);
  }
  w.Key("entity_def_id");
  w.String(entity_def_id);
  if (!location_type.empty()) {
    w.Key("location_type");
    w.String(location_type);
  }
  w.EndObject();
}

void DateObject(Writer& w, Rng& rng, int64_t days) {
  Date d = DateFromDays(days);
  const char* precision = rng.Pick(kPrecisions);
  if (precision[0] != 'd') d.day = 1;
  if (precision[0] == 'y') d.month = 1;
  w.BeginObject();
  w.Key("value");
  w.String(DateString(d));
  w.Key("precision");
  w.String(precision);
  w.EndObject();
}

std::string ShortDescription(Rng& rng, std::string_view name) {
  std::string s(name);
  s += " ";
  s += rng.Pick(kVerbs);
  s += " ";
  s += rng.Pick(kObjects);
  s += ".";
  switch (rng.Below(12)) {
    case 0:
      s += " Known as \"the Stripe of ";
      s += rng.Pick(kCategories);
      s += "\".";
      break;
    case 1:
      s += " Exports to C:\\data\\exports and \\\\share paths.";
      break;
    case 2:
      s += " Caf\xc3\xa9-grade service, na\xc3\xafve pricing \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9 "
           "inside.";
      break;
    case 3:
      s += "\nNow hiring.";
      break;
    case 4:
      s += " \xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xa7\xe5\xa7\x8b\xe3\x81\xbe\xe3\x82\x8a\xe3\x81\xbe"
           "\xe3\x81\x97\xe3\x81\x9f \xf0\x9f\x9a\x80";  // 日本で始まりました 🚀
      break;
    default:
      break;
  }
  return s;
}

std::string Description(Rng& rng, std::string_view name) {
  std::string s;
  const int paragraphs = rng.Percent(75) ? 1 : 2;
  for (int p = 0; p < paragraphs; ++p) {
    if (p > 0) s += "\n\n";
    s += "At ";
    s += name;
    s += ", we believe in the positive, transformational power of ";
    s += rng.Pick(kCategories);
    s += ". The company ";
    s += rng.Pick(kVerbs);
    s += " ";
    s += rng.Pick(kObjects);
    s += " and serves customers in ";
    s += std::to_string(rng.Between(2, 60));
    s += " countries.";
    if (rng.Percent(30)) s += " Its founders\xe2\x80\x99 previous company was acquired in 2019.";
  }
  return s;
}

void Organization(Writer& w, Rng& rng) {
  const bool ascii_only = rng.Percent(20);
  w.set_ascii_only(ascii_only);

  const std::string uuid = Uuid(rng);
  std::string name;
  if (rng.Percent(8)) {
    name = rng.Pick(kIntlNames);
  } else {
    name = rng.Pick(kNameHeads);
    if (rng.Percent(40)) name += rng.Pick(kNameHeads);
    name += " ";
    name += rng.Pick(kNameTails);
  }
  const std::string slug = Slug(name);
  const std::string permalink = slug + "-" + uuid.substr(32, 4);
  const int64_t created = rng.Between(1104537600, 1700000000);  // 2005 .. 2023-11
  const int64_t updated = rng.Between(created, 1700870400);
  const int64_t founded_days = created / 86400 - rng.Between(0, 365 * 15);

  w.BeginObject();
  w.Key("uuid");
  w.String(uuid);
  w.Key("identifier");
  std::string image_id = rng.Percent(80) ? ImageId(rng) : std::string();
  IdentifierObject(w, uuid, name, permalink, "organization", {}, image_id);
  w.Key("name");
  w.String(name);
  w.Key("permalink");
  w.String(permalink);
  if (rng.Percent(50)) {
    w.Key("permalink_aliases");
    w.BeginArray();
    w.EndArray();
  }
  w.Key("short_description");
  w.String(ShortDescription(rng, name));
  if (rng.Percent(20)) {
    w.Key("description");
    w.String(Description(rng, name));
  }

  const int num_categories =
      static_cast<int>(rng.Percent(85) ? rng.Between(0, 2) : rng.Between(3, 6));
  if (num_categories > 0) {
    w.Key("categories");
    w.BeginArray();
    for (int i = 0; i < num_categories; ++i) {
      const char* category = rng.Pick(kCategories);
      w.Element();
      IdentifierObject(w, UuidFor(category), category, Slug(category), "category");
    }
    w.EndArray();
  }

  // Locations: city, region, country and continent (45%), country and continent (25%), none.
  const uint64_t location_shape = rng.Below(100);
  if (location_shape < 70) {
    const Place& place = rng.Pick(kPlaces);
    w.Key("location_identifiers");
    w.BeginArray();
    const char* parts[4][3] = {{place.city, place.city_link, "city"},
                               {place.region, place.region_link, "region"},
                               {place.country, place.country_link, "country"},
                               {place.continent, place.continent_link, "continent"}};
    for (int i = location_shape < 45 ? 0 : 2; i < 4; ++i) {
      w.Element();
      IdentifierObject(w, UuidFor(parts[i][1]), parts[i][0], parts[i][1], "location", parts[i][2]);
    }
    w.EndArray();
  }
  if (rng.Percent(15)) {
    const auto& group = rng.Pick(kLocationGroups);
    w.Key("location_group_identifiers");
    w.BeginArray();
    w.Element();
    IdentifierObject(w, UuidFor(group[1]), group[0], group[1], "location", "group");
    w.EndArray();
  }

  if (rng.Percent(55)) {
    const Currency& currency = rng.Pick(kCurrencies);
    // Log-uniform between 10 thousand and 10 billion.
    const double magnitude = 4.0 + 6.0 * static_cast<double>(rng.Below(1000000)) / 1e6;
    int64_t value = static_cast<int64_t>(std::pow(10.0, magnitude));
    if (value > 100000) value -= value % 1000;
    w.Key("funding_total");
    w.BeginObject();
    w.Key("value");
    if (rng.Percent(15)) {
      w.Double(static_cast<double>(value) + 0.5);
    } else {
      w.Int(value);
    }
    w.Key("currency");
    w.String(currency.code);
    w.Key("value_usd");
    if (currency.usd_rate == 1.0) {
      w.Int(value);
    } else {
      w.Double(std::round(static_cast<double>(value) * currency.usd_rate * 100.0) / 100.0);
    }
    w.EndObject();
    w.Key("last_funding_type");
    w.String(rng.Pick(kFundingTypes));
    w.Key("num_funding_rounds");
    w.Int(rng.Between(1, 12));
    w.Key("last_funding_at");
    w.String(DateString(DateFromDays(rng.Between(created / 86400, updated / 86400))));
  }
  if (rng.Percent(70)) {
    w.Key("founded_on");
    DateObject(w, rng, founded_days);
  }
  if (rng.Percent(80)) {
    w.Key("num_employees_enum");
    w.String(rng.Pick(kEmployeeEnums));
  }
  const bool closed = rng.Percent(10);
  w.Key("operating_status");
  w.String(closed ? "closed" : "active");
  if (closed && rng.Percent(60)) {
    w.Key("closed_on");
    DateObject(w, rng, rng.Between(created / 86400, updated / 86400));
  }
  if (rng.Percent(85)) {
    w.Key("rank_org_company");
    w.Int(rng.Between(1, 2000000));
  }
  if (rng.Percent(40)) {
    w.Key("rank_delta_d7");
    w.Double(static_cast<double>(rng.Between(-100, 100)) / 10.0);
  }
  w.Key("updated_at");
  w.String(Timestamp(updated));
  w.Key("created_at");
  w.String(Timestamp(created));
  if (rng.Percent(90)) {
    w.Key("website");
    w.BeginObject();
    w.Key("value");
    w.String((rng.Percent(50) ? "https://www." : "http://") + slug + ".com");
    w.EndObject();
  }
  if (rng.Percent(60)) {
    w.Key("linkedin");
    w.BeginObject();
    w.Key("value");
    w.String("https://www.linkedin.com/company/" + slug);
    w.EndObject();
  }
  if (rng.Percent(35)) {
    w.Key("twitter");
    w.BeginObject();
    w.Key("value");
    w.String("https://twitter.com/" + slug);
    w.EndObject();
  }
  if (rng.Percent(25)) {
    w.Key("facebook");
    w.BeginObject();
    w.Key("value");
    w.String("https://www.facebook.com/" + slug);
    w.EndObject();
  }
  if (rng.Percent(45)) {
    w.Key("contact_email");
    w.String("info@" + slug + ".com");
  }
  if (rng.Percent(30)) {
    w.Key("phone_number");
    w.String("+1-" + std::to_string(rng.Between(200, 989)) + "-555-" +
             std::to_string(rng.Between(1000, 9999)));
  }
  const uint64_t ipo = rng.Below(100);
  w.Key("ipo_status");
  w.String(ipo < 88 ? "private" : ipo < 97 ? "public" : "delisted");
  if (ipo >= 88 && rng.Percent(70)) {
    w.Key("stock_exchange_symbol");
    w.String(rng.Percent(50) ? "nasdaq" : "nyse");
  }
  if (rng.Percent(40)) {
    w.Key("revenue_range");
    w.String(rng.Pick(kRevenueRanges));
  }
  if (rng.Percent(50)) {
    w.Key("company_type");
    w.String(rng.Percent(92) ? "for_profit" : "non_profit");
  }
  if (rng.Percent(20)) {
    w.Key("legal_name");
    w.String(name + ", Inc.");
  }
  if (rng.Percent(20)) {
    const int founders = static_cast<int>(rng.Between(1, 3));
    w.Key("num_founders");
    w.Int(founders);
    w.Key("founder_identifiers");
    w.BeginArray();
    for (int i = 0; i < founders; ++i) {
      std::string person = std::string(rng.Pick(kFirstNames)) + " " + rng.Pick(kLastNames);
      w.Element();
      std::string person_image = rng.Percent(50) ? ImageId(rng) : std::string();
      IdentifierObject(w, Uuid(rng), person, Slug(person), "person", {}, person_image);
    }
    w.EndArray();
  }
  if (rng.Percent(15)) {
    w.Key("aliases");
    w.BeginArray();
    w.Element();
    w.String(name + " Ltd");
    w.EndArray();
  }
  w.Key("facet_ids");
  w.BeginArray();
  w.Element();
  w.String("company");
  if (rng.Percent(85)) {
    w.Element();
    w.String("rank");
  }
  if (rng.Percent(10)) {
    w.Element();
    w.String("investor");
  }
  w.EndArray();
  w.EndObject();
}

// ---------------------------------------------------------------------------------------------

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "gen_crunchbase: %s\n"
               "usage: gen_crunchbase (--records N | --mb M) [--seed S] --out FILE|-\n",
               message);
  std::exit(2);
}

bool ParseUint(const char* text, uint64_t* value) {
  const char* end = text + std::strlen(text);
  auto result = std::from_chars(text, end, *value);
  return result.ec == std::errc() && result.ptr == end;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 0, megabytes = 0, seed = 1;
  bool have_records = false, have_mb = false;
  const char* out_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) Usage(("missing value after " + std::string(arg)).c_str());
    const char* value = argv[++i];
    if (arg == "--records") {
      if (!ParseUint(value, &records)) Usage("--records takes a non-negative integer");
      have_records = true;
    } else if (arg == "--mb") {
      if (!ParseUint(value, &megabytes)) Usage("--mb takes a non-negative integer");
      have_mb = true;
    } else if (arg == "--seed") {
      if (!ParseUint(value, &seed)) Usage("--seed takes a non-negative integer");
    } else if (arg == "--out") {
      out_path = value;
    } else {
      Usage(("unknown argument " + std::string(arg)).c_str());
    }
  }
  if (have_records == have_mb) Usage("give exactly one of --records and --mb");
  if (out_path == nullptr) Usage("--out is required");

  const bool to_stdout = std::strcmp(out_path, "-") == 0;
  std::FILE* file = to_stdout ? stdout : std::fopen(out_path, "wb");
  if (file == nullptr) {
    std::fprintf(stderr, "gen_crunchbase: cannot open %s: %s\n", out_path, std::strerror(errno));
    return 1;
  }

  const auto start = std::chrono::steady_clock::now();
  const uint64_t target_bytes = megabytes << 20;
  constexpr size_t kFlushBytes = 1 << 20;
  std::string buffer;
  buffer.reserve(kFlushBytes + (64 << 10));
  Writer writer(buffer);
  uint64_t written = 0, count = 0;
  const uint64_t stream = Mix64(seed ^ 0x5745415445525348ULL);  // "WATERSHE"
  while (have_records ? count < records : written + buffer.size() < target_bytes) {
    Rng rng(Mix64(stream + count * 0xD1B54A32D192ED03ULL));
    Organization(writer, rng);
    buffer.push_back('\n');
    ++count;
    if (buffer.size() >= kFlushBytes) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size()) break;
      written += buffer.size();
      buffer.clear();
    }
  }
  bool ok = std::fwrite(buffer.data(), 1, buffer.size(), file) == buffer.size();
  written += buffer.size();
  ok = std::fflush(file) == 0 && ok;
  if (!to_stdout) ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "gen_crunchbase: writing %s failed: %s\n", out_path, std::strerror(errno));
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "gen_crunchbase records=%llu bytes=%llu seconds=%.3f mb_per_s=%.1f\n",
               static_cast<unsigned long long>(count), static_cast<unsigned long long>(written),
               seconds, seconds > 0 ? static_cast<double>(written) / (1 << 20) / seconds : 0.0);
  return 0;
}
