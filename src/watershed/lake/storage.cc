// lake/storage.cc — the local-folder backend.
#include "watershed/lake/storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include "watershed/base/strings.h"

namespace watershed::lake {
namespace fs = std::filesystem;

namespace {
Status CheckKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("invalid lake key '", key, "'"));
  }
  return absl::OkStatus();
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return absl::UnavailableError(StrCat("cannot open ", path, " to sync it"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(StrCat("fsync failed for ", path));
  return absl::OkStatus();
}
}  // namespace

Status Storage::DeleteMany(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) WS_RETURN_IF_ERROR(Delete(key));
  return absl::OkStatus();
}

Status Storage::Put(const std::string& key, std::string_view bytes) {
  WS_ASSIGN_OR_RETURN(std::string path, PathForWrite(key));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return absl::UnavailableError(StrCat("cannot write ", path));
  }
  return Publish(key);
}

Status LocalStorage::PutNew(const std::string& key, std::string_view bytes) {
  WS_ASSIGN_OR_RETURN(std::string path, PathForWrite(key));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(StrCat(path, " already exists"));
    return absl::UnavailableError(StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return absl::UnavailableError(StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Publish(key);
}

Status LocalStorage::Put(const std::string& key, std::string_view bytes) {
  // Readers never see a half-written file: a temporary beside it, synced, then renamed over it.
  WS_ASSIGN_OR_RETURN(std::string path, PathForWrite(key));
  const std::string tmp = StrCat(path, ".tmp-", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return absl::UnavailableError(StrCat("cannot write ", tmp));
  }
  WS_RETURN_IF_ERROR(FsyncPath(tmp, false));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot rename ", tmp, ": ", ec.message()));
  return Publish(key);
}

std::string LocalStorage::Uri(const std::string& key) const {
  return StrCat("file://", fs::absolute(fs::path(root_) / key).lexically_normal().string());
}

StatusOr<std::string> LocalStorage::PathForWrite(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  fs::path p = fs::path(root_) / key;
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot create folder ", p.parent_path().string(), ": ", ec.message()));
  }
  return p.string();
}

Status LocalStorage::Publish(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  fs::path p = fs::path(root_) / key;
  WS_RETURN_IF_ERROR(FsyncPath(p.string(), false));
  // The file's folder, and every folder up to the lake's root: PathForWrite may have created
  // any of them (a new table or partition), and a folder's entry is durable only once its
  // parent is synced. This runs before the catalog commit that references the file.
  const fs::path root = fs::path(root_).lexically_normal();
  for (fs::path dir = p.parent_path().lexically_normal();; dir = dir.parent_path()) {
    WS_RETURN_IF_ERROR(FsyncPath(dir.string(), true));
    if (dir == root || dir == dir.parent_path() || dir.string().size() <= root.string().size()) {
      break;
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> LocalStorage::PathForRead(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  return (fs::path(root_) / key).string();
}

StatusOr<std::vector<StoredFile>> LocalStorage::List(const std::string& prefix) {
  std::vector<StoredFile> out;
  fs::path base = fs::path(root_) / prefix;
  std::error_code ec;
  if (!fs::exists(base, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    StoredFile f;
    f.key = fs::relative(it->path(), root_, ec).string();
    f.size = it->file_size(ec);
    auto t = fs::last_write_time(it->path(), ec);
    f.modified_unix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::file_clock::to_sys(t).time_since_epoch())
                          .count();
    out.push_back(std::move(f));
  }
  if (ec) return absl::UnavailableError(StrCat("listing ", base.string(), ": ", ec.message()));
  return out;
}

Status LocalStorage::Delete(const std::string& key) {
  WS_RETURN_IF_ERROR(CheckKey(key));
  fs::path p = fs::path(root_) / key;
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot delete ", p.string(), ": ", ec.message()));
  // Remove folders left empty, up to the root.
  for (fs::path dir = p.parent_path(); dir != fs::path(root_) && fs::is_empty(dir, ec) && !ec;
       dir = dir.parent_path()) {
    fs::remove(dir, ec);
  }
  return absl::OkStatus();
}

StatusOr<CopyFilesResult> CopyFiles(Storage& from, Storage& to,
                                    const std::function<void(const CopyFilesResult&)>& progress) {
  WS_ASSIGN_OR_RETURN(std::vector<StoredFile> there, to.List(""));
  std::map<std::string, uint64_t> have;
  for (const StoredFile& f : there) have[f.key] = f.size;
  WS_ASSIGN_OR_RETURN(std::vector<StoredFile> files, from.List(""));
  CopyFilesResult result;
  for (const StoredFile& f : files) {
    if (auto it = have.find(f.key); it != have.end() && it->second == f.size) {
      ++result.skipped;
    } else {
      WS_ASSIGN_OR_RETURN(std::string source, from.PathForRead(f.key));
      WS_ASSIGN_OR_RETURN(std::string staged, to.PathForWrite(f.key));
      std::error_code ec;
      std::filesystem::copy_file(source, staged, std::filesystem::copy_options::overwrite_existing,
                                 ec);
      if (ec) {
        return absl::UnavailableError(
            StrCat("copying ", f.key, " from ", from.Describe(), ": ", ec.message()));
      }
      WS_RETURN_IF_ERROR(Annotate(to.Publish(f.key), StrCat("copying ", f.key, " to ", to.Describe())));
      ++result.copied;
      result.bytes += f.size;
    }
    if (progress) progress(result);
  }
  return result;
}

}  // namespace watershed::lake
