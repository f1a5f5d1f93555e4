// sources/files/input.cc — ByteInput: raw sources (fd, memory) and the gzip / zstd decoders.
//
// Owns: the only code in Watershed's file source that talks to zlib and libzstd.
// Does not belong here: record splitting. Thread safety: none (see input.h).
#include "watershed/sources/files/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

namespace watershed::sources {

// Where raw (possibly compressed) bytes come from. Bytes peeked for sniffing are served first.
class ByteInput::Source {
 public:
  virtual ~Source() = default;

  // Reads up to `n` raw bytes; 0 only at end of input.
  StatusOr<size_t> Read(char* buf, size_t n) {
    size_t got = 0;
    if (peeked_pos_ < peeked_.size()) {
      got = std::min(n, peeked_.size() - peeked_pos_);
      std::memcpy(buf, peeked_.data() + peeked_pos_, got);
      peeked_pos_ += got;
    } else {
      WS_ASSIGN_OR_RETURN(got, ReadRaw(buf, n));
    }
    bytes_read_ += got;
    return got;
  }

  // The first `n` bytes (fewer at end of input) without consuming them. Call once, first.
  StatusOr<std::string_view> Peek(size_t n) {
    peeked_.resize(n);
    size_t have = 0;
    while (have < n) {
      WS_ASSIGN_OR_RETURN(size_t got, ReadRaw(peeked_.data() + have, n - have));
      if (got == 0) break;
      have += got;
    }
    peeked_.resize(have);
    return std::string_view(peeked_);
  }

  uint64_t bytes_read() const { return bytes_read_; }

 protected:
  virtual StatusOr<size_t> ReadRaw(char* buf, size_t n) = 0;

 private:
  std::string peeked_;
  size_t peeked_pos_ = 0;
  uint64_t bytes_read_ = 0;
};

namespace {

constexpr size_t kCompressedChunk = 1 << 20;

Status ErrnoStatus(int err, const std::string& what) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (err == ENOENT || err == ENOTDIR) code = absl::StatusCode::kNotFound;
  if (err == EACCES || err == EPERM) code = absl::StatusCode::kPermissionDenied;
  if (err == ENOMEM || err == EMFILE || err == ENFILE) code = absl::StatusCode::kResourceExhausted;
  return Status(code, StrCat(what, ": ", std::strerror(err)));
}

class FdSource : public ByteInput::Source {
 public:
  FdSource(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }

 protected:
  StatusOr<size_t> ReadRaw(char* buf, size_t n) override {
    n = std::min<size_t>(n, INT_MAX);  // read(2) caps a single call near 2 GiB anyway
    while (true) {
      ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("reading ", name_));
    }
  }

 private:
  int fd_;
  bool owned_;
  std::string name_;
};

class MemorySource : public ByteInput::Source {
 public:
  explicit MemorySource(std::string data) : data_(std::move(data)) {}

 protected:
  StatusOr<size_t> ReadRaw(char* buf, size_t n) override {
    size_t got = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, got);
    pos_ += got;
    return got;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// The decoders: each is a ByteInput over a Source.
class PlainInput : public ByteInput {
 public:
  PlainInput(std::string name, std::unique_ptr<Source> source)
      : ByteInput(std::move(name), Compression::kNone, std::move(source)) {}

  StatusOr<size_t> Read(char* buf, size_t n) override { return source_->Read(buf, n); }
};

class GzipInput : public ByteInput {
 public:
  GzipInput(std::string name, std::unique_ptr<Source> source)
      : ByteInput(std::move(name), Compression::kGzip, std::move(source)), in_(kCompressedChunk) {}
  ~GzipInput() override {
    if (initialized_) inflateEnd(&zs_);
  }

  Status Init() {
    std::memset(&zs_, 0, sizeof(zs_));
    // 15 + 32: the largest window, and accept both gzip and zlib headers.
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) {
      return Error(absl::StatusCode::kResourceExhausted, "cannot initialize zlib");
    }
    initialized_ = true;
    return Status();
  }

  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (done_ || n == 0) return size_t{0};
    const uInt want = static_cast<uInt>(std::min<size_t>(n, UINT_MAX));
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = want;
    while (zs_.avail_out == want) {
      if (zs_.avail_in == 0 && !source_eof_) {
        WS_ASSIGN_OR_RETURN(size_t got, source_->Read(in_.data(), in_.size()));
        if (got == 0) source_eof_ = true;
        zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (zs_.avail_in == 0 && source_eof_ && !in_member_) {
        done_ = true;
        break;
      }
      const uInt avail_before = zs_.avail_in;
      int ret = inflate(&zs_, Z_NO_FLUSH);
      if (zs_.avail_in != avail_before) in_member_ = true;
      if (ret == Z_STREAM_END) {
        // Concatenated members (pigz, `cat a.gz b.gz`): start over on the rest of the input.
        in_member_ = false;
        if (inflateReset(&zs_) != Z_OK) {
          return Error(absl::StatusCode::kInternal, "cannot reset zlib");
        }
      } else if (ret == Z_BUF_ERROR && zs_.avail_in == 0 && source_eof_) {
        // No progress possible, no more input, and the member has not ended.
        return Error(absl::StatusCode::kDataLoss,
                     StrCat("truncated gzip stream: input ends inside a member at "
                            "compressed byte ",
                            Position()));
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        return Error(absl::StatusCode::kDataLoss,
                     StrCat("corrupt gzip stream at compressed byte ", Position(), ": ",
                            zs_.msg != nullptr ? zs_.msg : zError(ret)));
      }
    }
    const size_t produced = want - zs_.avail_out;
    WS_RETURN_IF_ERROR(CountDecompressed(produced, Position()));
    return produced;
  }

 private:
  uint64_t Position() const { return compressed_bytes_read() - zs_.avail_in; }

  std::vector<char> in_;
  z_stream zs_;
  bool initialized_ = false;
  bool source_eof_ = false;
  bool in_member_ = false;
  bool done_ = false;
};

class ZstdInput : public ByteInput {
 public:
  ZstdInput(std::string name, std::unique_ptr<Source> source)
      : ByteInput(std::move(name), Compression::kZstd, std::move(source)), in_(kCompressedChunk) {}
  ~ZstdInput() override { ZSTD_freeDStream(ds_); }

  Status Init() {
    ds_ = ZSTD_createDStream();
    if (ds_ == nullptr) {
      return Error(absl::StatusCode::kResourceExhausted, "cannot initialize zstd");
    }
    return Status();
  }

  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (done_ || n == 0) return size_t{0};
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (in_pos_ == in_size_ && !source_eof_) {
        WS_ASSIGN_OR_RETURN(in_size_, source_->Read(in_.data(), in_.size()));
        in_pos_ = 0;
        if (in_size_ == 0) source_eof_ = true;
      }
      if (in_pos_ == in_size_ && source_eof_ && !frame_open_) {
        done_ = true;
        break;
      }
      ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
      size_t ret = ZSTD_decompressStream(ds_, &out, &in);
      in_pos_ = in.pos;
      if (ZSTD_isError(ret)) {
        return Error(absl::StatusCode::kDataLoss, StrCat("corrupt zstd stream at compressed byte ",
                                                         Position(), ": ", ZSTD_getErrorName(ret)));
      }
      // ret == 0: a frame is complete and fully flushed; otherwise the decoder wants more.
      frame_open_ = ret != 0;
      if (frame_open_ && out.pos == 0 && source_eof_ && in_pos_ == in_size_) {
        return Error(absl::StatusCode::kDataLoss,
                     StrCat("truncated zstd stream: input ends inside a frame at "
                            "compressed byte ",
                            Position()));
      }
    }
    WS_RETURN_IF_ERROR(CountDecompressed(out.pos, Position()));
    return out.pos;
  }

 private:
  uint64_t Position() const { return compressed_bytes_read() - (in_size_ - in_pos_); }

  std::vector<char> in_;
  size_t in_size_ = 0;
  size_t in_pos_ = 0;
  ZSTD_DStream* ds_ = nullptr;
  bool source_eof_ = false;
  bool frame_open_ = false;
  bool done_ = false;
};

}  // namespace

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

ByteInput::ByteInput(std::string name, Compression compression, std::unique_ptr<Source> source)
    : name_(std::move(name)), compression_(compression), source_(std::move(source)) {}

ByteInput::~ByteInput() = default;

uint64_t ByteInput::compressed_bytes_read() const { return source_->bytes_read(); }

Status ByteInput::Error(absl::StatusCode code, const std::string& message) const {
  return Status(code, StrCat("reading ", name_, ": ", message));
}

Status ByteInput::CountDecompressed(size_t n, uint64_t compressed_position) {
  bytes_out_ += n;
  const char* kind = CompressionName(compression_);
  if (limits_.max_decompressed_bytes > 0 && bytes_out_ > limits_.max_decompressed_bytes) {
    return Error(absl::StatusCode::kInvalidArgument,
                 StrCat(kind, " data decompresses to more than ", limits_.max_decompressed_bytes,
                        " bytes (at compressed byte ", compressed_position, "), over ",
                        LimitSettingName("max_decompressed_mb"),
                        "; if the file is genuine, raise it (0 = unlimited)"));
  }
  const uint64_t compressed = std::max<uint64_t>(compressed_position, 1);
  if (limits_.max_decompression_ratio > 0 && bytes_out_ > kRatioCheckAfterBytes &&
      static_cast<double>(bytes_out_) >
          limits_.max_decompression_ratio * static_cast<double>(compressed)) {
    return Error(
        absl::StatusCode::kInvalidArgument,
        StrCat("likely a decompression bomb: ", compressed, " compressed bytes gave ", bytes_out_,
               " (ratio ", bytes_out_ / compressed, ":1), over ",
               LimitSettingName("max_decompression_ratio"), " ", limits_.max_decompression_ratio,
               "; if the file is genuine, raise it (0 = unlimited)"));
  }
  return Status();
}

namespace {

StatusOr<std::unique_ptr<ByteInput>> Wrap(std::string name,
                                          std::unique_ptr<ByteInput::Source> source) {
  WS_ASSIGN_OR_RETURN(std::string_view magic, source->Peek(4));
  if (magic.size() >= 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
      static_cast<unsigned char>(magic[1]) == 0x8b) {
    auto input = std::make_unique<GzipInput>(std::move(name), std::move(source));
    WS_RETURN_IF_ERROR(input->Init());
    return std::unique_ptr<ByteInput>(std::move(input));
  }
  if (magic == std::string_view("\x28\xb5\x2f\xfd", 4)) {
    auto input = std::make_unique<ZstdInput>(std::move(name), std::move(source));
    WS_RETURN_IF_ERROR(input->Init());
    return std::unique_ptr<ByteInput>(std::move(input));
  }
  return std::unique_ptr<ByteInput>(
      std::make_unique<PlainInput>(std::move(name), std::move(source)));
}

}  // namespace

StatusOr<std::unique_ptr<ByteInput>> ByteInput::Open(const std::string& path) {
  if (path == "-") {
    std::string name = "<stdin>";
    return Wrap(name, std::make_unique<FdSource>(STDIN_FILENO, /*owned=*/false, name));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(StrCat("file not found: ", path, " (check the path)"));
    }
    return ErrnoStatus(err, StrCat("opening ", path));
  }
  auto source = std::make_unique<FdSource>(fd, /*owned=*/true, path);
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat("opening ", path, ": is a directory, not a file"));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return Wrap(path, std::move(source));
}

StatusOr<std::unique_ptr<ByteInput>> ByteInput::FromString(std::string data, std::string name) {
  return Wrap(std::move(name), std::make_unique<MemorySource>(std::move(data)));
}

}  // namespace watershed::sources
