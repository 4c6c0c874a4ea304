// Making and removing bundles: config.json from the image config, and a rootfs
// that is an overlay mount of store layers, a btrfs snapshot, or a copy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/store.hpp"

namespace oci::image {

enum class Storage { Auto, Overlay, Btrfs, Copy };

struct CreateOptions {
  std::string store;
  std::string source;
  std::string bundle;
  std::string image_ref;
  int index = -1;
  Storage storage = Storage::Auto;
  std::optional<std::vector<std::string>> args;        // replaces the image's Cmd
  std::optional<std::vector<std::string>> entrypoint;  // replaces the image's Entrypoint
  std::vector<std::string> env;                        // K=V, after the image's
  std::optional<std::string> hostname;
  std::optional<std::string> user;
  bool tty = false;
  bool quiet = false;
};

// Returns the storage actually used ("overlay", "btrfs", "copy").
std::string create_bundle(const CreateOptions& opts);
void remove_bundle(const std::string& bundle, bool quiet);

// config.json for an image config (exposed for tests). `rootfs` is a directory
// fd of the image's root, read for /etc/passwd and /etc/group.
nlohmann::ordered_json make_config(const nlohmann::json& image_config, const std::string& ref,
                                   const CreateOptions& opts, int rootfs);

}  // namespace oci::image
