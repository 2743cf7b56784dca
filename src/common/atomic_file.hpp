// Writing a file that readers (a restart, a metrics collector) must never
// see half written.
#pragma once

#include <string>

namespace relay {

// Replaces `path` with `text` so that a crash at any moment leaves either the
// old file or the new one: PATH.tmp, fsync, rename, fsync of the directory.
// The file gets `mode` (less the umask). Throws std::runtime_error naming the
// step that failed.
void write_file_atomically(const std::string &path, const std::string &text,
                           unsigned mode = 0600);

} // namespace relay
