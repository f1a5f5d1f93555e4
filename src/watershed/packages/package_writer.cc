// packages/package_writer.cc — see package_writer.h.
#include "watershed/packages/package_writer.h"

#include <zstd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "watershed/base/columns.h"

namespace watershed::packages {
namespace {

Status WriteAll(std::FILE* f, const void* data, size_t n, const std::string& key) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) {
    return absl::UnavailableError(StrCat("writing raw package file ", key, " failed"));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<PackageWriter>> PackageWriter::Create(lake::Storage& storage,
                                                               const std::string& source,
                                                               int64_t load_id) {
  std::unique_ptr<PackageWriter> w(new PackageWriter());
  w->storage_ = &storage;
  w->source_ = source;
  w->load_id_ = load_id;
  w->folder_ = fmt::format("raw/{}/load-{:06d}", source, load_id);
  w->cctx_ = ZSTD_createCCtx();
  // Level 1: raw responses are written once and rarely read; speed matters more than size.
  ZSTD_CCtx_setParameter(w->cctx_, ZSTD_c_compressionLevel, 1);
  return w;
}

PackageWriter::~PackageWriter() {
  if (file_ != nullptr) std::fclose(file_);
  ZSTD_freeCCtx(cctx_);
}

Status PackageWriter::OpenPart() {
  part_key_ = fmt::format("{}/part-{:05d}.ndjson.zst", folder_, part_++);
  WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(part_key_));
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return absl::UnavailableError(StrCat("cannot create ", path));
  part_lines_ = part_bytes_ = 0;
  ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
  return absl::OkStatus();
}

Status PackageWriter::Add(std::string_view request, std::string_view body) {
  if (file_ == nullptr) WS_RETURN_IF_ERROR(OpenPart());
  std::string line =
      StrCat("{\"request\":", nlohmann::json(std::string(request)).dump(), ",\"received_at\":\"",
             IsoUtc(NowMicros()), "\",\"body\":", body, "}\n");
  std::string out(ZSTD_CStreamOutSize(), '\0');
  ZSTD_inBuffer in{line.data(), line.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &o, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) return absl::InternalError(ZSTD_getErrorName(rc));
    WS_RETURN_IF_ERROR(WriteAll(file_, out.data(), o.pos, part_key_));
  }
  ++part_lines_;
  part_bytes_ += line.size();
  return absl::OkStatus();
}

Status PackageWriter::Seal() {
  if (file_ == nullptr) return absl::OkStatus();
  std::string out(ZSTD_CStreamOutSize(), '\0');
  ZSTD_inBuffer in{nullptr, 0, 0};
  size_t remaining;
  do {
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    remaining = ZSTD_compressStream2(cctx_, &o, &in, ZSTD_e_end);
    if (ZSTD_isError(remaining)) return absl::InternalError(ZSTD_getErrorName(remaining));
    WS_RETURN_IF_ERROR(WriteAll(file_, out.data(), o.pos, part_key_));
  } while (remaining != 0);
  bool ok = std::fflush(file_) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) return absl::UnavailableError(StrCat("writing ", part_key_, " failed"));
  WS_RETURN_IF_ERROR(storage_->Publish(part_key_));
  parts_.push_back({part_key_, part_lines_, part_bytes_});
  return absl::OkStatus();
}

Status PackageWriter::Finish() {
  WS_RETURN_IF_ERROR(Seal());
  nlohmann::json m = {{"format", 1},
                      {"source", source_},
                      {"load_id", load_id_},
                      {"sealed_at", IsoUtc(NowMicros())},
                      {"parts", nlohmann::json::array()}};
  for (const Part& p : parts_) {
    m["parts"].push_back({{"key", p.key}, {"lines", p.lines}, {"bytes", p.bytes}});
  }
  const std::string key = folder_ + "/manifest.json";
  WS_ASSIGN_OR_RETURN(std::string path, storage_->PathForWrite(key));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::UnavailableError(StrCat("cannot create ", path));
  std::string text = m.dump(2);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok &= std::fclose(f) == 0;
  if (!ok) return absl::UnavailableError(StrCat("writing ", path, " failed"));
  return storage_->Publish(key);
}

}  // namespace watershed::packages
