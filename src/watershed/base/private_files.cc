// base/private_files.cc — owner-only files and folders. See private_files.h.
#include "watershed/base/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace watershed {
namespace {

// The code for a failed open/mkdir: a full disk is kResourceExhausted, permissions
// kPermissionDenied, a missing folder kNotFound, anything else kUnavailable.
Status ErrnoError(int err, std::string_view what) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) code = absl::StatusCode::kResourceExhausted;
  if (err == EACCES || err == EPERM || err == EROFS) code = absl::StatusCode::kPermissionDenied;
  if (err == ENOENT) code = absl::StatusCode::kNotFound;
  return Status(code, StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

Status MakePrivateDirs(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::filesystem::path prefix;
  for (const std::filesystem::path& part : std::filesystem::path(dir).lexically_normal()) {
    if (part.empty()) continue;  // the trailing "" of "a/b/"
    prefix /= part;
    const std::string p = prefix.string();
    if (::mkdir(p.c_str(), kPrivateDirMode) == 0) {
      // mkdir's mode is masked by the umask: set it exactly.
      if (::chmod(p.c_str(), kPrivateDirMode) != 0) {
        return ErrnoError(errno, StrCat("cannot set mode 0700 on ", p));
      }
      continue;
    }
    const int err = errno;
    struct stat st;
    if (::stat(p.c_str(), &st) == 0) {  // it exists (or raced into existence): keep its mode
      if (S_ISDIR(st.st_mode)) continue;
      return absl::UnavailableError(StrCat("cannot create folder ", p, ": not a folder"));
    }
    return ErrnoError(err, StrCat("cannot create folder ", p));
  }
  return absl::OkStatus();
}

Status MakeFilePrivate(const std::string& path) {
  if (::chmod(path.c_str(), kPrivateFileMode) != 0) {
    return ErrnoError(errno, StrCat("cannot set mode 0600 on ", path));
  }
  return absl::OkStatus();
}

StatusOr<int> OpenPrivateFile(const std::string& path, int flags) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) WS_RETURN_IF_ERROR(MakePrivateDirs(parent.string()));
  const int fd = ::open(path.c_str(), flags | O_CREAT | O_CLOEXEC, kPrivateFileMode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST && (flags & O_EXCL) != 0) {
      return absl::AlreadyExistsError(StrCat(path, " exists already"));
    }
    return ErrnoError(err, StrCat("cannot open ", path));
  }
  // open()'s mode is masked by the umask and ignored for a file that existed: set it exactly.
  if (::fchmod(fd, kPrivateFileMode) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError(err, StrCat("cannot set mode 0600 on ", path));
  }
  return fd;
}

}  // namespace watershed
