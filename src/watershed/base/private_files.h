// base/private_files.h — creating logs and state files that only their owner can read.
//
// Owns: the one way Watershed creates what may hold secrets or private data: run logs
// (`.watershed/logs/`), state files (the catalog database with its cursors and scheduler state,
// the audit log, lock files, the server's event log) and their folders. Files are 0600 and the
// folders this creates are 0700, whatever the process umask (mode set with fchmod/chmod after
// creation, not left to open()/mkdir()). docs/formats/logs.md lists the files.
// Does not own: lake and mart files (the CLI's umask 077, set in cli/main.cc, makes them
// owner-only too), or what is written into the files.
// Thread safety: thread-safe; concurrent callers creating the same folder both succeed.
#pragma once

#include <string>

#include "watershed/base/status.h"

namespace watershed {

inline constexpr unsigned kPrivateFileMode = 0600;
inline constexpr unsigned kPrivateDirMode = 0700;

// Creates `dir` and its missing parents; each folder this call creates is 0700. Folders that
// exist already keep their mode (they may be the user's). Errors name the folder and the
// reason; codes: kResourceExhausted (disk full), kPermissionDenied, kNotFound, else
// kUnavailable.
Status MakePrivateDirs(const std::string& dir);

// open(path, flags | O_CREAT | O_CLOEXEC) after MakePrivateDirs(parent of path); the file is
// 0600 afterwards, also when it existed before with a wider mode (it is one of ours). Returns
// the descriptor, which the caller closes. With O_EXCL in `flags` an existing file fails with
// kAlreadyExists; other failures name the path, with the codes of MakePrivateDirs.
StatusOr<int> OpenPrivateFile(const std::string& path, int flags);

// Sets the file `path` to 0600 by its name (chmod), opening no descriptor: for files another
// library opens itself and guards with POSIX record locks, which closing any descriptor of the
// file in this process would drop (SQLite). kNotFound when there is no such file.
Status MakeFilePrivate(const std::string& path);

}  // namespace watershed
