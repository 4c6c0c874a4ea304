#include "image/bundle.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "image/fsutil.hpp"
#include "runtime/cli/commands.hpp"
#include "spec/error.hpp"

namespace oci::image {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr const char* kMarker = "oci-run-image.json";

// ---- /etc/passwd and /etc/group of the image ------------------------------------

struct PwEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};
struct GrEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) return out;
    pos = next + 1;
  }
}

std::optional<uint32_t> number(const std::string& s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::string read_etc(int rootfs, const std::string& rel) {
  if (rootfs < 0) return "";
  UniqueFd fd = open_in_root(rootfs, rel, O_RDONLY, "image /" + rel);
  if (!fd) return "";
  return read_fd(fd.get(), "image /" + rel);
}

std::vector<PwEntry> parse_passwd(const std::string& text) {
  std::vector<PwEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7 || f[0].empty() || f[0][0] == '#') continue;
    auto uid = number(f[2]), gid = number(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], *uid, *gid, f[5]});
  }
  return out;
}

std::vector<GrEntry> parse_group(const std::string& text) {
  std::vector<GrEntry> out;
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty() || f[0][0] == '#') continue;
    auto gid = number(f[2]);
    if (!gid) continue;
    GrEntry g{f[0], *gid, {}};
    if (!f[3].empty()) g.members = split(f[3], ',');
    out.push_back(std::move(g));
  }
  return out;
}

// "", "uid", "name", "uid:gid", "name:group", ... resolved as Docker does: a name
// must exist in the image; a numeric uid need not.
ojson resolve_user(const std::string& spec, int rootfs, std::string& home) {
  auto passwd = parse_passwd(read_etc(rootfs, "etc/passwd"));
  auto group = parse_group(read_etc(rootfs, "etc/group"));
  std::string u = spec, g;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    u = spec.substr(0, colon);
    g = spec.substr(colon + 1);
  }
  if (u.empty()) u = "0";
  const PwEntry* pw = nullptr;
  uint32_t uid = 0;
  if (auto n = number(u)) {
    uid = *n;
    for (const auto& e : passwd)
      if (e.uid == uid) {
        pw = &e;
        break;
      }
  } else {
    for (const auto& e : passwd)
      if (e.name == u) {
        pw = &e;
        break;
      }
    if (!pw) throw Error("user \"" + u + "\" not found in the image's /etc/passwd");
    uid = pw->uid;
  }
  uint32_t gid = pw ? pw->gid : 0;
  if (!g.empty()) {
    if (auto n = number(g)) {
      gid = *n;
    } else {
      const GrEntry* ge = nullptr;
      for (const auto& e : group)
        if (e.name == g) ge = ge ? ge : &e;
      if (!ge) throw Error("group \"" + g + "\" not found in the image's /etc/group");
      gid = ge->gid;
    }
  }
  ojson out = {{"uid", uid}, {"gid", gid}};
  if (pw && g.empty()) {
    ojson extra = ojson::array();
    for (const auto& e : group)
      for (const auto& m : e.members)
        if (m == pw->name && e.gid != gid) extra.push_back(e.gid);
    if (!extra.empty()) out["additionalGids"] = extra;
  }
  home = pw && !pw->home.empty() ? pw->home : "/";
  return out;
}

void set_env(ojson& env, const std::string& kv) {
  auto eq = kv.find('=');
  std::string key = kv.substr(0, eq);
  for (auto& e : env) {
    std::string s = e.get<std::string>();
    if (s.substr(0, s.find('=')) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

std::vector<std::string> string_array(const json& j, const std::string& what) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) throw Error("image config: " + what + " is not an array");
  for (const auto& s : j) {
    if (!s.is_string()) throw Error("image config: " + what + " holds a non-string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

// ---- bundle under construction ----------------------------------------------------

// Owns a half-made bundle: unmounts, destroys and removes it unless released.
class BundleGuard {
 public:
  explicit BundleGuard(std::string path) : path_(std::move(path)) {}
  ~BundleGuard() {
    if (path_.empty()) return;
    std::string rootfs = path_ + "/rootfs";
    if (mounted_) ::umount2(rootfs.c_str(), MNT_DETACH);
    try {
      if (subvol_) btrfs_destroy(rootfs);
      remove_tree(path_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "oci-run-image: cleanup of %s: %s\n", path_.c_str(), e.what());
    }
  }
  void mounted() { mounted_ = true; }
  void subvolume() { subvol_ = true; }
  void release() { path_.clear(); }
  BundleGuard(const BundleGuard&) = delete;
  BundleGuard& operator=(const BundleGuard&) = delete;

 private:
  std::string path_;
  bool mounted_ = false, subvol_ = false;
};

bool same_btrfs(const std::string& a, const std::string& b) {
  struct statfs sa, sb;
  if (::statfs(a.c_str(), &sa) < 0 || ::statfs(b.c_str(), &sb) < 0) return false;
  return sa.f_type == BTRFS_SUPER_MAGIC && sb.f_type == BTRFS_SUPER_MAGIC &&
         std::memcmp(&sa.f_fsid, &sb.f_fsid, sizeof sa.f_fsid) == 0;
}

std::string storage_name(Storage s) {
  switch (s) {
    case Storage::Overlay: return "overlay";
    case Storage::Btrfs: return "btrfs";
    case Storage::Copy: return "copy";
    default: return "auto";
  }
}

// Returns errno of a failed mount, 0 on success.
int mount_overlay(const Store& store, const std::vector<std::string>& hexes, const std::string& bundle) {
  if (const char* e = std::getenv("OCI_RUN_IMAGE_NO_OVERLAY"); e && std::string(e) == "1") return ENODEV;
  std::string lower;
  std::vector<std::string> seen;
  for (auto it = hexes.rbegin(); it != hexes.rend(); ++it) {
    // overlayfs refuses a lower dir given twice (ELOOP). A layer repeated lower
    // down (common: empty layers) changes nothing under its top copy: skip it.
    if (std::find(seen.begin(), seen.end(), *it) != seen.end()) continue;
    seen.push_back(*it);
    std::string d = store.layer_diff(*it);
    if (d.find_first_of(":,") != std::string::npos)
      throw Error("overlay: the store path " + store.root() + " contains ':' or ','");
    lower += (lower.empty() ? "" : ":") + d;
  }
  std::string up = bundle + "/overlay/upper", work = bundle + "/overlay/work";
  if (bundle.find_first_of(":,") != std::string::npos)
    throw Error("overlay: the bundle path " + bundle + " contains ':' or ','");
  std::string data = "lowerdir=" + lower + ",upperdir=" + up + ",workdir=" + work;
  if (data.size() >= 4000) throw Error("overlay: too many layers for one mount (" + std::to_string(hexes.size()) + ")");
  if (::mount("overlay", (bundle + "/rootfs").c_str(), "overlay", 0, data.c_str()) < 0) return errno;
  return 0;
}

}  // namespace

ojson make_config(const json& image_config, const std::string& ref, const CreateOptions& opts, int rootfs) {
  ojson spec = oci::cli::default_spec(false);
  const json cfg = image_config.value("config", json::object());
  spec["process"]["terminal"] = opts.tty;

  auto entry = opts.entrypoint ? *opts.entrypoint : string_array(cfg.value("Entrypoint", json()), "Entrypoint");
  auto cmd = opts.args ? *opts.args : string_array(cfg.value("Cmd", json()), "Cmd");
  // A new entrypoint drops the image's Cmd, as `docker run --entrypoint` does.
  if (opts.entrypoint && !opts.args) cmd.clear();
  ojson args = ojson::array();
  for (const auto& a : entry) args.push_back(a);
  for (const auto& a : cmd) args.push_back(a);
  if (args.empty()) throw Error("the image has no Entrypoint or Cmd: give a command after --");
  spec["process"]["args"] = args;

  ojson& env = spec["process"]["env"];
  for (const auto& kv : string_array(cfg.value("Env", json()), "Env")) set_env(env, kv);
  for (const auto& kv : opts.env) {
    if (kv.find('=') == std::string::npos || kv[0] == '=') throw Error("--env " + kv + ": expected KEY=VALUE");
    set_env(env, kv);
  }
  std::string wd = cfg.value("WorkingDir", "");
  spec["process"]["cwd"] = wd.empty() ? "/" : wd;
  if (spec["process"]["cwd"].get<std::string>()[0] != '/')
    throw Error("image config: WorkingDir \"" + wd + "\" is not absolute");

  std::string home;
  spec["process"]["user"] = resolve_user(opts.user ? *opts.user : cfg.value("User", ""), rootfs, home);
  bool has_home = false;
  for (const auto& e : env) has_home = has_home || e.get<std::string>().rfind("HOME=", 0) == 0;
  if (!has_home) env.push_back("HOME=" + home);

  if (opts.hostname) spec["hostname"] = *opts.hostname;
  spec["root"] = {{"path", "rootfs"}, {"readonly", false}};

  ojson ann = ojson::object();
  if (cfg.contains("Labels") && cfg["Labels"].is_object())
    for (const auto& [k, v] : cfg["Labels"].items())
      if (v.is_string()) ann[k] = v;
  if (cfg.contains("StopSignal") && cfg["StopSignal"].is_string())
    ann["org.opencontainers.image.stopSignal"] = cfg["StopSignal"];
  if (cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object() && !cfg["ExposedPorts"].empty()) {
    std::string ports;
    for (const auto& [k, v] : cfg["ExposedPorts"].items()) ports += (ports.empty() ? "" : ",") + k;
    ann["org.opencontainers.image.exposedPorts"] = ports;
  }
  for (const auto& [key, ak] : {std::pair{"os", "org.opencontainers.image.os"},
                                {"architecture", "org.opencontainers.image.architecture"},
                                {"author", "org.opencontainers.image.author"},
                                {"created", "org.opencontainers.image.created"}})
    if (image_config.contains(key) && image_config[key].is_string()) ann[ak] = image_config[key];
  if (!ref.empty()) ann["org.opencontainers.image.ref.name"] = ref;
  if (!ann.empty()) spec["annotations"] = ann;
  return spec;
}

std::string create_bundle(const CreateOptions& opts) {
  Store store(opts.store);
  const std::string bundle = absolute_path(opts.bundle);
  {
    struct stat st;
    if (::lstat(bundle.c_str(), &st) == 0) throw Error("bundle " + bundle + " already exists");
  }
  Source src(opts.source, store.tmp());
  Image img = src.select(opts.image_ref, opts.index);

  const bool tty = !opts.quiet && ::isatty(STDERR_FILENO);
  LayerProgress progress;
  if (tty)
    progress = [last = uint64_t(0), layer = size_t(-1)](size_t i, size_t n, const std::string& diff,
                                                          uint64_t done, uint64_t total) mutable {
      // One update per MiB (and at each layer's start and end) is enough for a terminal.
      if (i == layer && done < total && done - last < (1u << 20)) return;
      layer = i;
      last = done;
      std::fprintf(stderr, "\r\033[Kunpacking layer %zu/%zu %s  %.1f/%.1f MiB", i + 1, n,
                   diff.substr(0, 19).c_str(), double(done) / 1048576.0, double(total) / 1048576.0);
    };
  std::vector<std::string> hexes;
  for (size_t i = 0; i < img.layers.size(); ++i) hexes.push_back(store.ensure_layer(src, img.layers[i], i, img.layers.size(), progress));
  if (tty) std::fprintf(stderr, "\r\033[K%zu layer%s ready\n", hexes.size(), hexes.size() == 1 ? "" : "s");

  Storage storage = opts.storage;
  std::string parent = bundle.substr(0, bundle.rfind('/'));
  if (parent.empty()) parent = "/";
  if (storage == Storage::Auto) storage = same_btrfs(store.root(), parent) ? Storage::Btrfs : Storage::Overlay;
  if (storage == Storage::Btrfs && !same_btrfs(store.root(), parent))
    throw Error("btrfs storage needs the store (" + store.root() + ") and the bundle (" + bundle +
                ") on the same btrfs file system");

  if (::mkdir(bundle.c_str(), 0711) < 0) throw sys_error("mkdir " + bundle);
  BundleGuard guard(bundle);
  const std::string rootfs = bundle + "/rootfs";
  std::vector<std::string> chains;
  if (storage == Storage::Btrfs) {
    chains = store.ensure_chain(hexes);
    if (chains.empty()) btrfs_create_subvolume(rootfs);
    else btrfs_snapshot(store.chain_path(chains.back()), rootfs, false);
    guard.subvolume();
  } else {
    if (::mkdir(rootfs.c_str(), 0755) < 0) throw sys_error("mkdir " + rootfs);
    if (storage == Storage::Overlay) {
      for (const char* d : {"/overlay", "/overlay/upper", "/overlay/work"})
        if (::mkdir((bundle + d).c_str(), 0755) < 0) throw sys_error("mkdir " + bundle + d);
      int err = hexes.empty() ? EINVAL : mount_overlay(store, hexes, bundle);
      if (err == 0) {
        guard.mounted();
      } else if (opts.storage == Storage::Auto) {
        if (!opts.quiet)
          std::fprintf(stderr, "oci-run-image: overlayfs is unusable here (mount: %s); copying the layers instead\n",
                       std::strerror(err));
        remove_tree(bundle + "/overlay");
        storage = Storage::Copy;
      } else {
        throw sys_error("mount overlay on " + rootfs, err);
      }
    }
    if (storage == Storage::Copy) {
      UniqueFd r = open_dir(rootfs);
      for (const auto& h : hexes) {
        UniqueFd l = open_dir(store.layer_diff(h));
        apply_layer(l.get(), r.get(), store.layer_diff(h));
      }
    }
  }

  UniqueFd rfd = open_dir(rootfs);
  ojson config = make_config(img.config, img.ref, opts, rfd.get());
  rfd.reset();
  {
    UniqueFd fd(::open((bundle + "/config.json").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) throw sys_error("create " + bundle + "/config.json");
    write_fd(fd.get(), config.dump(2) + "\n", bundle + "/config.json");
  }
  json layers = json::array();
  for (const auto& h : hexes) layers.push_back(h);
  json record = {{"bundle", bundle},
                 {"id", sha256_hex(bundle + std::to_string(::getpid()) + std::to_string(::time(nullptr)) +
                                   std::to_string(reinterpret_cast<uintptr_t>(&guard)))},
                 {"store", store.root()},
                 {"storage", storage_name(storage)},
                 {"image", img.ref},
                 {"config_digest", img.config_digest},
                 {"layers", layers},
                 {"chains", chains}};
  {
    UniqueFd fd(::open((bundle + "/" + kMarker).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) throw sys_error("create " + bundle + "/" + kMarker);
    write_fd(fd.get(), record.dump(2) + "\n", bundle + "/" + kMarker);
  }
  store.add_bundle(record);
  guard.release();
  return storage_name(storage);
}

void remove_bundle(const std::string& path, bool quiet) {
  (void)quiet;
  const std::string bundle = absolute_path(path);
  UniqueFd bfd(::open(bundle.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!bfd) throw sys_error("open bundle " + bundle);
  UniqueFd mfd(::openat(bfd.get(), kMarker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!mfd) throw Error(bundle + ": not a bundle made by oci-run-image (no " + kMarker + ")");
  json rec;
  try {
    rec = json::parse(read_fd(mfd.get(), bundle + "/" + kMarker));
  } catch (const json::exception& e) {
    throw Error(bundle + "/" + kMarker + ": invalid JSON: " + e.what());
  }
  mfd.reset();
  bfd.reset();
  const std::string rootfs = bundle + "/rootfs";
  const std::string storage = rec.value("storage", "");
  if (storage == "overlay") {
    if (::umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
      if (errno == EBUSY) throw Error("unmount " + rootfs + ": busy (is a container still running from it?)");
      throw sys_error("unmount " + rootfs);
    }
  } else if (storage == "btrfs" && is_subvolume(rootfs)) {
    btrfs_destroy(rootfs);
  }
  remove_tree(bundle);
  std::string store_root = rec.value("store", "");
  struct stat st;
  if (!store_root.empty() && ::stat(store_root.c_str(), &st) == 0) {
    Store store(store_root);
    store.drop_bundle(bundle);
  }
}

}  // namespace oci::image
