// warehouse/postgres/postgres_test.cc — the libpq wrapper and the DuckDB -> PostgreSQL load
// against a real throwaway server (tests/pg_cluster.h); skipped when no server binaries exist.
#include "watershed/warehouse/postgres/postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/pg_cluster.h"
#include "watershed/warehouse/duckdb/database.h"

namespace watershed::warehouse::postgres {
namespace {

using testing_util::PgCluster;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- Pure helpers (no server) ----

TEST(CopyTextTest, EscapesTheFourSpecialCharacters) {
  EXPECT_EQ(CopyTextEscape("plain"), "plain");
  EXPECT_EQ(CopyTextEscape(""), "");
  EXPECT_EQ(CopyTextEscape("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
  EXPECT_EQ(CopyTextEscape("\\N"), "\\\\N");  // the text "\N" is not NULL
  EXPECT_EQ(CopyTextEscape("\\."), "\\\\.");  // nor the end-of-data marker
  EXPECT_EQ(CopyTextEscape("naïve ☃"), "naïve ☃");
  std::string out = "x\t";
  AppendCopyTextNull(&out);
  EXPECT_EQ(out, "x\t\\N");
}

TEST(RedshiftTest, TableSuffix) {
  EXPECT_EQ(RedshiftTableSuffix("", {}), "");
  EXPECT_EQ(RedshiftTableSuffix("org_id", {}), " DISTKEY(\"org_id\")");
  EXPECT_EQ(RedshiftTableSuffix("", {"a", "b"}), " SORTKEY(\"a\", \"b\")");
  EXPECT_EQ(RedshiftTableSuffix("x", {"a", "b"}), " DISTKEY(\"x\") SORTKEY(\"a\", \"b\")");
}

TEST(QuoteTest, Ident) { EXPECT_EQ(PgQuoteIdent("a\"b c"), "\"a\"\"b c\""); }

// ---- Against a server ----

class PostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto start = std::chrono::steady_clock::now();
    cluster_ = PgCluster::Start().release();
    std::fprintf(stderr, "[timing] PgCluster::Start: %.2f s\n", SecondsSince(start));
  }
  static void TearDownTestSuite() {
    auto start = std::chrono::steady_clock::now();
    delete cluster_;
    cluster_ = nullptr;
    std::fprintf(stderr, "[timing] PgCluster stop: %.2f s\n", SecondsSince(start));
  }

  void SetUp() override {
    if (cluster_ == nullptr && !PgCluster::SkipAllowed()) FAIL() << PgCluster::NoSkipReason();
    if (cluster_ == nullptr) GTEST_SKIP() << "no PostgreSQL server binaries on this machine";
    auto conn = PgConnection::Connect(cluster_->conninfo());
    ASSERT_TRUE(conn.ok()) << conn.status();
    pg_ = std::move(conn).value();
  }

  // The single value of a one-row, one-column query.
  std::string One(const std::string& sql) {
    auto r = pg_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->rows() != 1 || r->columns() < 1) return "<no value>";
    return r->IsNull(0, 0) ? "<null>" : r->GetString(0, 0);
  }

  static PgCluster* cluster_;
  std::unique_ptr<PgConnection> pg_;
};

PgCluster* PostgresTest::cluster_ = nullptr;

TEST_F(PostgresTest, ExecuteAndQueryRoundTrip) {
  EXPECT_EQ(pg_->Describe(), StrCat("127.0.0.1:", cluster_->port(), "/postgres"));
  ASSERT_TRUE(pg_->Execute("CREATE TABLE rt (id int, name text); "
                           "INSERT INTO rt VALUES (1, 'a'), (2, NULL), (3, 'tab\there');")
                  .ok());
  auto r = pg_->Query("SELECT id, name FROM rt ORDER BY id");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 3);
  ASSERT_EQ(r->columns(), 2);
  EXPECT_EQ(r->column_name(0), "id");
  EXPECT_EQ(r->column_name(1), "name");
  EXPECT_EQ(r->GetString(0, 0), "1");
  EXPECT_EQ(r->GetString(1, 0), "a");
  EXPECT_TRUE(r->IsNull(1, 1));
  EXPECT_FALSE(r->IsNull(1, 2));
  EXPECT_EQ(r->GetString(1, 2), "tab\there");
  // Query of several statements answers with the last one.
  EXPECT_EQ(One("SELECT 1; SELECT 'last'"), "last");
  auto del = pg_->Query("DELETE FROM rt WHERE id < 3");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->affected_rows(), 2);
  EXPECT_EQ(One("SHOW client_encoding"), "UTF8");
}

TEST_F(PostgresTest, SqlErrorCarriesMessageAndSqlState) {
  auto r = pg_->Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(MessageOf(r.status()));
  EXPECT_NE(message.find("relation \"no_such_table\" does not exist"), std::string::npos)
      << message;
  EXPECT_NE(message.find("SQLSTATE 42P01"), std::string::npos) << message;
  EXPECT_NE(message.find(pg_->Describe()), std::string::npos) << message;

  // A failure inside an explicit transaction does not leave the session aborted.
  Status s = pg_->Execute("BEGIN; SELECT 1/0; COMMIT;");
  EXPECT_NE(std::string(MessageOf(s)).find("22012"), std::string::npos) << s;
  EXPECT_EQ(One("SELECT 42"), "42");
  // Plain-SQL COPY FROM STDIN is refused without wedging the connection.
  ASSERT_TRUE(pg_->Execute("CREATE TABLE refuse (a int)").ok());
  EXPECT_FALSE(pg_->Execute("COPY refuse FROM STDIN").ok());
  EXPECT_EQ(One("SELECT count(*) FROM refuse"), "0");
}

TEST_F(PostgresTest, ConnectionErrorIsUnavailableAndHidesPassword) {
  // A port nobody listens on: bind one, then close it.
  int closed_port = 0;
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    closed_port = ntohs(addr.sin_port);
    ::close(fd);
  }
  const std::string secret = "Sup3r-Secret-pw";
  for (const std::string& conninfo :
       {StrCat("postgres://alice:", secret, "@127.0.0.1:", closed_port, "/appdb"),
        StrCat("host=127.0.0.1 port=", closed_port, " user=alice password=", secret,
               " dbname=appdb")}) {
    auto conn = PgConnection::Connect(conninfo);
    ASSERT_FALSE(conn.ok());
    EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable) << conn.status();
    const std::string message(MessageOf(conn.status()));
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
    EXPECT_NE(message.find(StrCat("127.0.0.1:", closed_port, "/appdb")), std::string::npos)
        << message;
    EXPECT_NE(message.find("refused"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // A malformed conninfo is the caller's error, and its fragments are not echoed.
  auto bad = PgConnection::Connect(StrCat("host=127.0.0.1 password='", secret));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(MessageOf(bad.status())).find(secret), std::string::npos) << bad.status();
  auto bad_uri = PgConnection::Connect(StrCat("postgres://alice:", secret, "@127.0.0.1:x/db"));
  ASSERT_FALSE(bad_uri.ok());
  EXPECT_EQ(bad_uri.status().code(), absl::StatusCode::kInvalidArgument) << bad_uri.status();
  EXPECT_EQ(std::string(MessageOf(bad_uri.status())).find(secret), std::string::npos)
      << bad_uri.status();
  // The password is not in a live connection's description either.
  auto live = PgConnection::Connect(StrCat(cluster_->conninfo(), " password=", secret));
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ((*live)->Describe().find(secret), std::string::npos);
}

TEST(DefaultSslModeTest, VerifyFullOffThisMachineOnly) {
  EXPECT_EQ(DefaultSslMode("db.example.com"), "verify-full");
  EXPECT_EQ(DefaultSslMode("10.0.0.5"), "verify-full");
  EXPECT_EQ(DefaultSslMode("127.0.0.1,db.example.com"), "verify-full");
  EXPECT_EQ(DefaultSslMode("127.0.0.1"), "");
  EXPECT_EQ(DefaultSslMode("localhost"), "");
  EXPECT_EQ(DefaultSslMode("::1"), "");
  EXPECT_EQ(DefaultSslMode("/var/run/postgresql"), "");
  EXPECT_EQ(DefaultSslMode(""), "");
}

// A mart target named as a host off this machine (host= a remote name, hostaddr= the test's
// plain-TCP cluster) is refused without TLS, with the way out in the message; told otherwise
// (sslmode=disable, or $PGSSLMODE) it connects.
TEST_F(PostgresTest, RemoteHostsNeedVerifiedTlsUnlessToldOtherwise) {
  const std::string remote =
      StrCat("host=db.example.invalid hostaddr=127.0.0.1 port=", cluster_->port(),
             " user=", cluster_->superuser(), " dbname=postgres");
  auto refused = PgConnection::Connect(remote);
  ASSERT_FALSE(refused.ok());
  const std::string message(MessageOf(refused.status()));
  EXPECT_NE(message.find("SSL"), std::string::npos) << message;
  EXPECT_NE(message.find("sslmode=verify-full"), std::string::npos) << message;
  EXPECT_NE(message.find("db.example.invalid"), std::string::npos) << message;

  auto disabled = PgConnection::Connect(remote + " sslmode=disable");
  EXPECT_TRUE(disabled.ok()) << disabled.status();
  ::setenv("PGSSLMODE", "disable", 1);
  auto by_env = PgConnection::Connect(remote);
  ::unsetenv("PGSSLMODE");
  EXPECT_TRUE(by_env.ok()) << by_env.status();
}

// The value of column `col` in row `i` of the COPY round-trip table; NULL every 7th row.
std::string TrickyValue(int64_t i, int col) {
  static const char* const kPieces[] = {"tab\there", "new\nline", "back\\slash",    "cr\rlf\r\n",
                                        "\\N",       "\\.",       "naïve ☃ 日本語", "",
                                        "'quote\"",  "emoji 🦆"};
  return StrCat(kPieces[(i + col) % 10], "#", i * 31 + col);
}
bool TrickyNull(int64_t i, int col) { return (i + col) % 7 == 0; }

TEST_F(PostgresTest, CopyInRoundTripsTrickyValuesExactly) {
  ASSERT_TRUE(pg_->Execute("CREATE TABLE copy_rt (id bigint, a text, b text)").ok());
  constexpr int64_t kRows = 100000;
  int64_t next_row = 0;
  int64_t copied = -1;
  auto start = std::chrono::steady_clock::now();
  Status s = pg_->CopyIn(
      "COPY copy_rt (id, a, b) FROM STDIN",
      [&](std::string* chunk) -> StatusOr<bool> {
        // ~64 KB per chunk; a row may span chunks, as COPY allows.
        while (next_row < kRows && chunk->size() < (1 << 16)) {
          const int64_t i = next_row++;
          chunk->append(StrCat(i));
          for (int col = 1; col <= 2; ++col) {
            chunk->push_back('\t');
            if (TrickyNull(i, col)) {
              AppendCopyTextNull(chunk);
            } else {
              AppendCopyTextEscaped(TrickyValue(i, col), chunk);
            }
          }
          chunk->push_back('\n');
        }
        return next_row < kRows;
      },
      &copied);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(copied, kRows);
  std::fprintf(stderr, "[timing] CopyIn %lld rows: %.3f s\n", static_cast<long long>(kRows),
               SecondsSince(start));

  auto r = pg_->Query("SELECT id, a, b FROM copy_rt ORDER BY id");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), kRows);
  int mismatches = 0;
  for (int64_t i = 0; i < kRows && mismatches < 5; ++i) {
    bool ok = r->GetString(0, i) == StrCat(i);
    for (int col = 1; col <= 2; ++col) {
      if (TrickyNull(i, col)) {
        ok = ok && r->IsNull(col, i);
      } else {
        ok = ok && !r->IsNull(col, i) && r->GetString(col, i) == TrickyValue(i, col);
      }
    }
    if (!ok) {
      ++mismatches;
      ADD_FAILURE() << "row " << i << " differs: [" << r->GetString(1, i) << "] ["
                    << r->GetString(2, i) << "]";
    }
  }
}

TEST_F(PostgresTest, BadCopyRowFailsAndConnectionStaysUsable) {
  ASSERT_TRUE(pg_->Execute("CREATE TABLE copy_bad (id bigint, name text)").ok());
  int calls = 0;
  Status s = pg_->CopyIn("COPY copy_bad FROM STDIN", [&](std::string* chunk) -> StatusOr<bool> {
    ++calls;
    if (calls == 1) chunk->append("1\tone\n2\ttwo\n");
    if (calls == 2) chunk->append("three\tnot a number\n4\tfour\n");
    return calls < 3;
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(MessageOf(s));
  EXPECT_NE(message.find("22P02"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  EXPECT_EQ(One("SELECT count(*) FROM copy_bad"), "0");

  // A failing producer aborts the COPY with its own status; nothing is loaded.
  s = pg_->CopyIn("COPY copy_bad FROM STDIN", [&](std::string* chunk) -> StatusOr<bool> {
    if (chunk->empty() && calls++ < 10) {
      chunk->append("5\tfive\n");
      return true;
    }
    return absl::DataLossError("source page 7 is truncated");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(MessageOf(s)).find("source page 7 is truncated"), std::string::npos) << s;
  EXPECT_EQ(One("SELECT count(*) FROM copy_bad"), "0");

  // Not a COPY at all.
  s = pg_->CopyIn("SELECT 1", [](std::string*) -> StatusOr<bool> { return false; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  // And the connection still works, COPY included.
  ASSERT_TRUE(pg_->CopyIn("COPY copy_bad FROM STDIN",
                          [](std::string* chunk) -> StatusOr<bool> {
                            chunk->append("9\tnine\n");
                            return false;
                          })
                  .ok());
  EXPECT_EQ(One("SELECT name FROM copy_bad"), "nine");
}

constexpr char kSourceSql[] = R"sql(
  SELECT
    i % 3 = 0 AS flag,
    i * 1000003 AS big,
    CAST(i % 1000 - 500 AS INTEGER) AS small,
    CAST(i AS DOUBLE) / 7 AS ratio,
    CAST(i / 8 AS DECIMAL(18,4)) AS amount,
    DATE '2020-01-01' + CAST(i % 2000 AS INTEGER) AS day,
    TIMESTAMP '2021-03-04 05:06:07.123456' + INTERVAL (i) SECOND AS happened,
    CASE WHEN i % 11 = 0 THEN NULL
         ELSE 'v' || i || CASE i % 4 WHEN 0 THEN chr(9) WHEN 1 THEN chr(10) WHEN 2 THEN '\'
                                     ELSE ' ☃' END END AS label,
    CASE WHEN i % 13 = 0 THEN NULL ELSE i END AS maybe,
    [i, i + 1] AS list
  FROM range(0, 20000) t(i);
)sql";

// Aggregates that pin every column down; written once for both engines.
std::string AggregateSql(bool duck, const std::string& from) {
  const std::string ts_text = duck ? "strftime(happened, '%Y-%m-%d %H:%M:%S.%f')"
                                   : "to_char(happened, 'YYYY-MM-DD HH24:MI:SS.US')";
  const std::string day_text = duck ? "strftime(day, '%Y-%m-%d')" : "to_char(day, 'YYYY-MM-DD')";
  return StrCat("SELECT count(*), count(*) FILTER (WHERE flag), sum(big), sum(small), ",
                "CAST(sum(round(ratio * 1000)) AS BIGINT), sum(amount), count(maybe), sum(maybe), ",
                "md5(string_agg(label, '|' ORDER BY big)), ", "md5(string_agg(", ts_text,
                ", '|' ORDER BY big)), ", "md5(string_agg(", day_text, ", '|' ORDER BY big)) FROM ",
                from);
}

TEST_F(PostgresTest, LoadTableFromDuckDbMatchesTheSourceAndReplaces) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status();
  auto duck = (*db)->Connect();
  ASSERT_TRUE(duck.ok()) << duck.status();

  auto start = std::chrono::steady_clock::now();
  auto loaded = LoadTableFromDuckDb(**duck, kSourceSql, *pg_, "mart", "facts");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 20000);
  std::fprintf(stderr, "[timing] LoadTableFromDuckDb 20000 rows x 10 columns: %.3f s\n",
               SecondsSince(start));

  // Column types.
  auto types = pg_->Query(
      "SELECT column_name, CASE WHEN data_type = 'numeric' THEN 'numeric(' || "
      "numeric_precision || ',' || numeric_scale || ')' ELSE data_type END "
      "FROM information_schema.columns WHERE table_schema = 'mart' AND table_name = 'facts' "
      "ORDER BY ordinal_position");
  ASSERT_TRUE(types.ok()) << types.status();
  std::string type_list;
  for (int64_t r = 0; r < types->rows(); ++r) {
    type_list += StrCat(types->GetString(0, r), ":", types->GetString(1, r), " ");
  }
  EXPECT_EQ(type_list,
            "flag:boolean big:bigint small:integer ratio:double precision amount:numeric(18,4) "
            "day:date happened:timestamp without time zone label:text maybe:bigint list:text ");

  // Values: the same aggregates on both sides.
  const std::string source(kSourceSql);
  auto expected =
      (*duck)->Query(AggregateSql(true, StrCat("(", source.substr(0, source.rfind(';')), ") s")));
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto actual = pg_->Query(AggregateSql(false, "mart.facts"));
  ASSERT_TRUE(actual.ok()) << actual.status();
  ASSERT_EQ(static_cast<size_t>(actual->columns()), expected->column_count());
  for (int c = 0; c < actual->columns(); ++c) {
    EXPECT_EQ(actual->GetString(c, 0), expected->GetString(c, 0)) << "aggregate " << c;
  }
  EXPECT_EQ(One("SELECT list FROM mart.facts WHERE big = 1000003"), "[1, 2]");
  EXPECT_EQ(One("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%loading%'"), "0");

  // Loading again replaces the table, new shape included.
  loaded = LoadTableFromDuckDb(**duck, "SELECT 'x' || i AS only_col FROM range(5) t(i)", *pg_,
                               "mart", "facts");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 5);
  EXPECT_EQ(One("SELECT count(*) || ' ' || string_agg(only_col, ',' ORDER BY only_col) "
                "FROM mart.facts"),
            "5 x0,x1,x2,x3,x4");
  EXPECT_EQ(One("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%loading%'"), "0");

  // A source that fails halfway leaves the published table as it was.
  loaded = LoadTableFromDuckDb(
      **duck,
      "SELECT CASE WHEN i = 150000 THEN error('source broke at row 150000') ELSE i END AS i "
      "FROM range(200000) t(i)",
      *pg_, "mart", "facts");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(std::string(MessageOf(loaded.status())).find("source broke"), std::string::npos)
      << loaded.status();
  EXPECT_NE(std::string(MessageOf(loaded.status())).find("mart.facts"), std::string::npos)
      << loaded.status();
  EXPECT_EQ(One("SELECT count(*) FROM mart.facts"), "5");
  EXPECT_EQ(One("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%loading%'"), "0");
}

TEST_F(PostgresTest, LoadIntoAnotherDatabaseWithOddNames) {
  ASSERT_TRUE(cluster_->CreateDatabase("other db").ok());
  auto other = PgConnection::Connect(cluster_->conninfo("'other db'"));
  ASSERT_TRUE(other.ok()) << other.status();
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  auto duck = (*db)->Connect();
  ASSERT_TRUE(duck.ok());
  // Duplicate and odd column names, an empty result, a bigger-than-DECIMAL(18) decimal.
  auto loaded = LoadTableFromDuckDb(
      **duck,
      "SELECT 1 AS \"We\"\"ird col\", 2.5::DECIMAL(30,10) AS x, NULL AS nothing "
      "WHERE false",
      **other, "My Schema", "t");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 0);
  auto r = (*other)->Query("SELECT * FROM \"My Schema\".t");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows(), 0);
  EXPECT_EQ(r->column_name(0), "We\"ird col");
  EXPECT_FALSE(LoadTableFromDuckDb(**duck, "SELECT 1", **other, "s", std::string(60, 'n')).ok());
}

}  // namespace
}  // namespace watershed::warehouse::postgres
