// The content-addressed layer store (default /var/lib/oci-run-image):
//
//   lock                      flock(2): one writer at a time
//   layers/<diff-hex>/diff    an unpacked layer, overlay format (whiteouts as 0:0
//                             char devices, opaque dirs as trusted.overlay.opaque=y)
//   layers/<diff-hex>/layer.json
//   chains/<chain-hex>        btrfs only: read-only subvolume holding layers 1..n
//                             applied in order (snapshot of the chain below + layer n)
//   bundles/<sha256(path)>.json  which bundle uses which layers/chain
//   tmp/                      staging; renamed into place only when complete
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/source.hpp"

namespace oci::image {

std::string default_store();  // $OCI_RUN_IMAGE_STORE or /var/lib/oci-run-image

bool is_btrfs(const std::string& path);
void btrfs_snapshot(const std::string& src, const std::string& dst, bool readonly);
void btrfs_create_subvolume(const std::string& path);
void btrfs_destroy(const std::string& path);  // ENOENT is fine
void btrfs_set_readonly(const std::string& path, bool ro);
bool is_subvolume(const std::string& path);

using LayerProgress = std::function<void(size_t index, size_t count, const std::string& diff_id,
                                         uint64_t done, uint64_t total)>;

class Store {
 public:
  // Creates the directories and takes the lock (exclusive, or shared for readers).
  Store(const std::string& root, bool exclusive = true);
  const std::string& root() const { return root_; }
  std::string tmp() const { return root_ + "/tmp"; }
  std::string layer_diff(const std::string& hex) const { return root_ + "/layers/" + hex + "/diff"; }
  std::string chain_path(const std::string& hex) const { return root_ + "/chains/" + hex; }

  // Unpack and verify the layer unless the store has it. Returns the diff hex.
  std::string ensure_layer(Source& src, const LayerRef& layer, size_t index, size_t count,
                           const LayerProgress& progress);
  // btrfs: the chain subvolumes for these layers (bottom first). Returns their
  // hexes, bottom first; the last one holds the whole image.
  std::vector<std::string> ensure_chain(const std::vector<std::string>& diff_hexes);

  void add_bundle(const nlohmann::json& record);  // record["bundle"] is the key
  void drop_bundle(const std::string& bundle);
  std::vector<nlohmann::json> bundles() const;

  struct GcResult {
    std::vector<std::string> layers, chains, bundles, tmp;
  };
  GcResult gc();

 private:
  std::string record_path(const std::string& bundle) const;
  std::string root_;
  UniqueFd lock_;
};

}  // namespace oci::image
