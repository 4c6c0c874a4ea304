// Image sources: a docker-archive tar (`docker save`, `podman save --format
// docker-archive`), an OCI image layout directory, or an oci-archive tar. Tars are
// extracted into a temporary directory first; every file is then opened with
// RESOLVE_IN_ROOT so nothing named by a manifest can point outside the source.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/fsutil.hpp"

namespace oci::image {

struct LayerRef {
  std::string path;        // blob path inside the source
  std::string digest;      // "sha256:<hex>" of the blob, empty when the format has none
  std::string diff_id;     // "sha256:<hex>" of the uncompressed tar (image config)
  std::string media_type;  // as given, may be empty
};

struct Image {
  std::string ref;  // the name it was chosen by (or the first name it has)
  std::string config_digest;
  nlohmann::json config;
  std::vector<LayerRef> layers;
};

class Source {
 public:
  // `tmp_parent`: where a tar source is extracted (inside the store, same fs).
  Source(const std::string& path, const std::string& tmp_parent);
  // Choose an image: by reference (`ref` non-empty), by position (`index` >= 0),
  // or the only one.
  Image select(const std::string& ref, int index);
  int root() const { return root_.get(); }
  const std::string& describe() const { return path_; }

 private:
  Image select_oci(const std::string& ref, int index);
  Image select_docker(const std::string& ref, int index);
  Image from_oci_manifest(const nlohmann::json& desc, const std::string& name, int depth);
  std::string read_blob(const nlohmann::json& desc, const std::string& what);
  std::string read_small(const std::string& rel, const std::string& what);

  std::string path_;
  TempDir tmp_;
  UniqueFd root_;
  bool oci_ = false;
};

bool ref_matches(const std::string& given, const std::string& name);

}  // namespace oci::image
