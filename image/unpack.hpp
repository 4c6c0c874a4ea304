// Reading tar streams with libarchive and writing their entries safely under a
// directory: every path is walked component by component with O_NOFOLLOW, so no
// entry (../, absolute, through a symlink it or an earlier entry made) can write
// outside the target.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace oci::image {

struct UnpackResult {
  std::string blob_sha256;  // of the bytes read from the blob (compressed)
  std::string diff_sha256;  // of the uncompressed tar stream
  uint64_t blob_bytes = 0;
  uint64_t diff_bytes = 0;
};

// Called with the number of compressed bytes read so far.
using ProgressFn = std::function<void(uint64_t)>;

// Unpack a layer blob (tar, tar+gzip, tar+zstd) into the empty directory `dest`,
// turning .wh.NAME into 0:0 character devices and .wh..wh..opq into
// trusted.overlay.opaque=y. Preserves owners, modes, xattrs, times, hard links,
// symlinks and device nodes. `what` names the blob in errors. When the tar stream
// cannot be read, the error says "the layer is corrupt" if the decompressor fails
// further on or the uncompressed content does not match `diff_id` (if given).
UnpackResult unpack_layer(int blob_fd, int dest, const std::string& what, const ProgressFn& progress,
                          const std::string& diff_id = "");

// Extract a container archive (docker-archive / oci-archive tar) into `dest`:
// regular files, directories and symlinks only, owned by root, same path rules.
void extract_archive(int archive_fd, int dest, const std::string& what);

}  // namespace oci::image
