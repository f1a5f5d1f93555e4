// store/postgres.cc — the PostgreSQL backend of store.h, on libpq: one PGconn per Connection,
// statements run with PQexecParams (the SQL after Dialect::Render, placeholders already $N),
// integers bound as int8, doubles as float8, text untyped (the server infers it from the
// column), byte strings as binary bytea; results read in text form (bytea decoded from hex).
// Errors carry PostgreSQL's message and SQLSTATE and name the catalog by its URL without the
// password; serialization failures, deadlocks, lost connections and a server shutting down are
// kUnavailable (transient: callers retry as they do on a busy SQLite file), a unique key
// violated kAlreadyExists (as on SQLite), every other error kInternal. NOTICEs ("already exists,
// skipping") are dropped. The only file that includes libpq-fe.h in store/.
#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "watershed/base/log.h"
#include "watershed/base/redact.h"
#include "watershed/base/strings.h"
#include "watershed/store/store.h"

namespace watershed::store {
namespace {

constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;

Status ResultError(const std::string& where, PGconn* conn, const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message(Trim(result ? PQresultErrorMessage(result) : ""));
  if (message.empty()) message = std::string(Trim(PQerrorMessage(conn)));
  const std::string code = state ? state : "";
  std::string text =
      StrCat(where, ": ", message, code.empty() ? "" : StrCat(" (SQLSTATE ", code, ")"));
  const bool transient = code.starts_with("40") || code.starts_with("08") ||
                         code.starts_with("57P") || code == "55P03" ||
                         PQstatus(conn) != CONNECTION_OK;
  if (transient) return absl::UnavailableError(StrCat(text, " (transient; retry)"));
  if (code == "23505") return absl::AlreadyExistsError(text);  // unique_violation
  return absl::InternalError(text);
}

class PostgresConnection : public Connection {
 public:
  PostgresConnection(PGconn* conn, std::string name)
      : Connection(Dialect{Backend::kPostgres}), conn_(conn), name_(std::move(name)) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  std::string name() const override { return name_; }

  Status Exec(std::string_view sql) override {
    PGresult* r = PQexec(conn_, std::string(sql).c_str());
    const ExecStatusType st = PQresultStatus(r);
    Status s = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? absl::OkStatus()
                                                               : ResultError(name_, conn_, r);
    if (s.ok()) changes_ = std::atoll(PQcmdTuples(r));
    PQclear(r);
    return s;
  }

  int64_t LastInsertId() override {
    PGresult* r = PQexec(conn_, "SELECT lastval()");
    int64_t id = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                     ? std::atoll(PQgetvalue(r, 0, 0))
                     : 0;
    PQclear(r);
    return id;
  }
  int64_t Changes() override { return changes_; }

 private:
  class Statement : public PreparedStatement {
   public:
    Statement(PostgresConnection& owner, std::string_view sql) : owner_(owner), sql_(sql) {}
    ~Statement() override { PQclear(result_); }

    Status status() const override { return absl::OkStatus(); }  // errors surface at Step()
    void Bind(int i, int64_t v) override { Set(i, std::to_string(v), kInt8Oid, 0); }
    void Bind(int i, double v) override {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      Set(i, buf, kFloat8Oid, 0);
    }
    // PostgreSQL refuses text that is not UTF-8 (SQLite stores any bytes). Catalog text is
    // metadata (names, JSON, messages): bytes that are not UTF-8 become U+FFFD rather than fail
    // the command that records them. Bytes that must survive exactly are BindBlob's.
    void Bind(int i, std::string_view v) override {
      Set(i, IsValidUtf8(v) ? std::string(v) : ToValidUtf8(v), 0, 0);
    }
    void BindBlob(int i, std::string_view b) override { Set(i, std::string(b), kByteaOid, 1); }
    void BindNull(int i) override {
      Grow(i);
      params_[i - 1] = Param{};
    }

    StatusOr<bool> Step() override {
      if (result_ == nullptr) {
        const int n = static_cast<int>(params_.size());
        std::vector<Oid> types(n);
        std::vector<const char*> values(n);
        std::vector<int> lengths(n), formats(n);
        for (int i = 0; i < n; ++i) {
          types[i] = params_[i].type;
          values[i] = params_[i].null ? nullptr : params_[i].value.data();
          lengths[i] = static_cast<int>(params_[i].value.size());
          formats[i] = params_[i].format;
        }
        result_ = PQexecParams(owner_.conn_, sql_.c_str(), n, types.data(), values.data(),
                               lengths.data(), formats.data(), 0);
        const ExecStatusType st = PQresultStatus(result_);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
          Status s = ResultError(owner_.name_, owner_.conn_, result_);
          PQclear(result_);
          result_ = nullptr;
          return s;
        }
        owner_.changes_ = std::atoll(PQcmdTuples(result_));
        row_ = -1;
      }
      ++row_;
      return row_ < PQntuples(result_);
    }

    void Reset(bool clear_binds) override {
      PQclear(result_);
      result_ = nullptr;
      if (clear_binds) params_.clear();
    }

    int64_t Int(int col) override {
      if (!HasValue(col)) return 0;
      const char* v = PQgetvalue(result_, row_, col);
      if (PQftype(result_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
      return std::atoll(v);
    }
    double Double(int col) override {
      return HasValue(col) ? std::strtod(PQgetvalue(result_, row_, col), nullptr) : 0.0;
    }
    bool IsNull(int col) override { return !HasValue(col); }
    int ColumnCount() override { return result_ ? PQnfields(result_) : 0; }
    std::string ColumnName(int col) override {
      const char* name = result_ ? PQfname(result_, col) : nullptr;
      return name ? name : "";
    }
    ValueType TypeOf(int col) override {
      if (!HasValue(col)) return ValueType::kNull;
      switch (PQftype(result_, col)) {
        case kBoolOid:
        case kInt8Oid:
        case 21:
        case 23:
          return ValueType::kInt;  // int2, int4
        case kFloat8Oid:
        case 700:
        case 1700:
          return ValueType::kDouble;  // float4, numeric
        case kByteaOid:
          return ValueType::kBlob;
        default:
          return ValueType::kText;
      }
    }
    std::string_view Bytes(int col) override {
      if (!HasValue(col)) return {};
      const char* v = PQgetvalue(result_, row_, col);
      const size_t length = static_cast<size_t>(PQgetlength(result_, row_, col));
      if (PQftype(result_, col) != kByteaOid) return std::string_view(v, length);
      size_t decoded_length = 0;
      unsigned char* decoded =
          PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &decoded_length);
      decoded_.assign(reinterpret_cast<const char*>(decoded), decoded_length);
      PQfreemem(decoded);
      return decoded_;
    }

   private:
    struct Param {
      bool null = true;
      std::string value;
      Oid type = 0;
      int format = 0;
    };
    void Grow(int i) {
      if (static_cast<int>(params_.size()) < i) params_.resize(i);
    }
    void Set(int i, std::string value, Oid type, int format) {
      Grow(i);
      params_[i - 1] = Param{false, std::move(value), type, format};
    }
    bool HasValue(int col) const {
      return result_ != nullptr && row_ >= 0 && row_ < PQntuples(result_) &&
             col < PQnfields(result_) && !PQgetisnull(result_, row_, col);
    }

    PostgresConnection& owner_;
    std::string sql_;
    std::vector<Param> params_;
    PGresult* result_ = nullptr;
    int row_ = -1;
    std::string decoded_;
  };

  std::unique_ptr<PreparedStatement> Prepare(std::string_view sql) override {
    return std::make_unique<Statement>(*this, sql);
  }

  PGconn* conn_;
  std::string name_;
  int64_t changes_ = 0;
};

void IgnoreNotice(void*, const char*) {}

}  // namespace

StatusOr<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                   const OpenOptions& options) {
  const std::string name = RedactUrl(url);
  // The URL is libpq's (parameters like sslmode or options=-csearch_path=... included); a
  // connect timeout and an application name unless it sets them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "watershed", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError(StrCat(name, ": out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message(Trim(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(
        StrCat("catalog ", name, ": cannot connect: ", RedactSecrets(message),
               " (check storage.catalog: host, port, database, user; the password comes from "
               "the URL, $PGPASSWORD or ~/.pgpass)"));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  auto connection = std::make_unique<PostgresConnection>(conn, name);
  WS_RETURN_IF_ERROR(connection->Exec("SET client_encoding = 'UTF8'"));
  if (options.read_only) {
    WS_RETURN_IF_ERROR(connection->Exec("SET default_transaction_read_only = on"));
  }
  return std::unique_ptr<Connection>(std::move(connection));
}

}  // namespace watershed::store
