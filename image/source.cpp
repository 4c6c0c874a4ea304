#include "image/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "image/unpack.hpp"
#include "spec/error.hpp"

namespace oci::image {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxJson = 16 << 20;

json parse_json(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(what + ": invalid JSON: " + e.what());
  }
}

std::string digest_hex(const std::string& digest, const std::string& what) {
  if (digest.rfind("sha256:", 0) != 0 || !is_hex64(digest.substr(7)))
    throw Error(what + ": unsupported or malformed digest \"" + digest + "\"");
  return digest.substr(7);
}

bool is_index_type(const std::string& mt) {
  return mt == "application/vnd.oci.image.index.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string host_arch() {
  struct utsname u;
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "i686" || m == "i386") return "386";
  return m;
}

std::string strip_name(std::string r) {
  for (const char* p : {"docker.io/library/", "docker.io/", "localhost/"})
    if (r.rfind(p, 0) == 0) {
      r = r.substr(std::string(p).size());
      break;
    }
  auto slash = r.rfind('/');
  auto colon = r.rfind(':');
  if (r.find('@') == std::string::npos && (colon == std::string::npos || (slash != std::string::npos && colon < slash)))
    r += ":latest";
  return r;
}

std::string oci_name(const json& desc) {
  if (!desc.contains("annotations") || !desc["annotations"].is_object()) return "";
  const auto& a = desc["annotations"];
  for (const char* k : {"io.containerd.image.name", "org.opencontainers.image.ref.name"})
    if (a.contains(k) && a[k].is_string()) return a[k].get<std::string>();
  return "";
}

std::vector<std::string> oci_names(const json& desc) {
  std::vector<std::string> out;
  if (!desc.contains("annotations") || !desc["annotations"].is_object()) return out;
  const auto& a = desc["annotations"];
  for (const char* k : {"io.containerd.image.name", "org.opencontainers.image.ref.name"})
    if (a.contains(k) && a[k].is_string()) out.push_back(a[k].get<std::string>());
  return out;
}

}  // namespace

bool ref_matches(const std::string& given, const std::string& name) {
  if (given.empty() || name.empty()) return false;
  if (given == name || strip_name(given) == strip_name(name)) return true;
  // An OCI layout's ref.name may be the tag alone.
  if (name.find('/') == std::string::npos && name.find(':') == std::string::npos) {
    std::string g = strip_name(given);
    return g.substr(g.rfind(':') + 1) == name;
  }
  return false;
}

Source::Source(const std::string& path, const std::string& tmp_parent) : path_(path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) throw sys_error("stat " + path);
  if (S_ISDIR(st.st_mode)) {
    root_ = open_dir(path);
  } else {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw sys_error("open " + path);
    tmp_ = TempDir(tmp_parent, "source-");
    root_ = open_dir(tmp_.path());
    extract_archive(fd.get(), root_.get(), path);
  }
  if (open_in_root(root_.get(), "oci-layout", O_RDONLY, path + ": oci-layout") &&
      open_in_root(root_.get(), "index.json", O_RDONLY, path + ": index.json")) {
    oci_ = true;
  } else if (!open_in_root(root_.get(), "manifest.json", O_RDONLY, path + ": manifest.json")) {
    throw Error(path + ": not an image: no oci-layout + index.json (OCI layout) and no manifest.json (docker archive)");
  }
}

std::string Source::read_small(const std::string& rel, const std::string& what) {
  UniqueFd fd = open_in_root(root_.get(), rel, O_RDONLY, what);
  if (!fd) throw Error(what + ": missing from " + path_);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) throw sys_error("stat " + what);
  if (!S_ISREG(st.st_mode)) throw Error(what + ": not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxJson) throw Error(what + ": too large");
  return read_fd(fd.get(), what);
}

std::string Source::read_blob(const json& desc, const std::string& what) {
  if (!desc.is_object() || !desc.contains("digest") || !desc["digest"].is_string())
    throw Error(what + ": descriptor without a digest");
  std::string digest = desc["digest"].get<std::string>();
  std::string hex = digest_hex(digest, what);
  std::string data = read_small("blobs/sha256/" + hex, what + " " + digest);
  if (sha256_hex(data) != hex) throw Error(what + " " + digest + ": digest mismatch (content has sha256:" + sha256_hex(data) + ")");
  if (desc.contains("size") && desc["size"].is_number_integer() &&
      desc["size"].get<int64_t>() != static_cast<int64_t>(data.size()))
    throw Error(what + " " + digest + ": size mismatch");
  return data;
}

Image Source::select(const std::string& ref, int index) {
  return oci_ ? select_oci(ref, index) : select_docker(ref, index);
}

Image Source::select_oci(const std::string& ref, int index) {
  json idx = parse_json(read_small("index.json", "index.json"), path_ + ": index.json");
  if (!idx.contains("manifests") || !idx["manifests"].is_array() || idx["manifests"].empty())
    throw Error(path_ + ": index.json lists no manifests");
  const json& ms = idx["manifests"];
  const json* chosen = nullptr;
  if (!ref.empty()) {
    for (const auto& m : ms)
      for (const auto& n : oci_names(m))
        if (!chosen && ref_matches(ref, n)) chosen = &m;
    if (!chosen) {
      std::string names;
      for (const auto& m : ms) {  // appended piece by piece: " " + std::string trips GCC 12 -O3 -Wrestrict (PR 105651)
        std::string n = oci_name(m);
        names += ' ';
        names += n.empty() ? "(unnamed)" : n;
      }
      throw Error(path_ + ": no image named " + ref + " (has:" + names + ")");
    }
  } else if (index >= 0) {
    if (static_cast<size_t>(index) >= ms.size())
      throw Error(path_ + ": no image at index " + std::to_string(index) + " (has " + std::to_string(ms.size()) + ")");
    chosen = &ms[static_cast<size_t>(index)];
  } else {
    if (ms.size() != 1)
      throw Error(path_ + ": holds " + std::to_string(ms.size()) + " images; choose one with --image or --index");
    chosen = &ms[0];
  }
  return from_oci_manifest(*chosen, ref.empty() ? oci_name(*chosen) : ref, 0);
}

Image Source::from_oci_manifest(const json& desc, const std::string& name, int depth) {
  if (depth > 4) throw Error(path_ + ": image indexes nested too deeply");
  std::string mt = desc.value("mediaType", "");
  std::string text = read_blob(desc, path_ + ": manifest");
  json m = parse_json(text, path_ + ": manifest " + desc.value("digest", ""));
  if (is_index_type(mt) || (m.contains("manifests") && !m.contains("layers"))) {
    std::string arch = host_arch();
    if (!m.contains("manifests") || !m["manifests"].is_array())
      throw Error(path_ + ": index " + desc.value("digest", "") + " lists no manifests");
    for (const auto& d : m["manifests"]) {
      const json p = d.value("platform", json::object());
      if (p.value("os", "linux") == "linux" && p.value("architecture", arch) == arch)
        return from_oci_manifest(d, name, depth + 1);
    }
    throw Error(path_ + ": index " + desc.value("digest", "") + " has no manifest for linux/" + arch);
  }
  if (!m.contains("config") || !m.contains("layers") || !m["layers"].is_array())
    throw Error(path_ + ": manifest " + desc.value("digest", "") + " has no config or layers");
  Image img;
  img.ref = name;
  std::string ctext = read_blob(m["config"], path_ + ": config");
  img.config_digest = m["config"].value("digest", "");
  img.config = parse_json(ctext, path_ + ": config " + img.config_digest);
  const json diff_ids = img.config.value("rootfs", json::object()).value("diff_ids", json::array());
  if (!diff_ids.is_array() || diff_ids.size() != m["layers"].size())
    throw Error(path_ + ": manifest has " + std::to_string(m["layers"].size()) +
                " layers but the config lists " + std::to_string(diff_ids.size()) + " diff_ids");
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    const json& l = m["layers"][i];
    LayerRef r;
    r.digest = l.value("digest", "");
    std::string hex = digest_hex(r.digest, path_ + ": layer " + std::to_string(i));
    r.path = "blobs/sha256/" + hex;
    r.diff_id = diff_ids[i].is_string() ? diff_ids[i].get<std::string>() : "";
    digest_hex(r.diff_id, path_ + ": diff_id " + std::to_string(i));
    r.media_type = l.value("mediaType", "");
    if (!open_in_root(root_.get(), r.path, O_RDONLY, r.path))
      throw Error(path_ + ": manifest names a missing layer " + r.digest);
    img.layers.push_back(std::move(r));
  }
  return img;
}

Image Source::select_docker(const std::string& ref, int index) {
  json mf = parse_json(read_small("manifest.json", "manifest.json"), path_ + ": manifest.json");
  if (!mf.is_array() || mf.empty()) throw Error(path_ + ": manifest.json lists no images");
  const json* chosen = nullptr;
  std::string name;
  auto tags = [](const json& e) {
    std::vector<std::string> t;
    if (e.contains("RepoTags") && e["RepoTags"].is_array())
      for (const auto& s : e["RepoTags"])
        if (s.is_string()) t.push_back(s.get<std::string>());
    return t;
  };
  if (!ref.empty()) {
    for (const auto& e : mf)
      for (const auto& t : tags(e))
        if (!chosen && ref_matches(ref, t)) chosen = &e;
    if (!chosen) {
      std::string names;
      for (const auto& e : mf)
        for (const auto& t : tags(e)) names += " " + t;
      throw Error(path_ + ": no image named " + ref + " (has:" + names + ")");
    }
    name = ref;
  } else if (index >= 0) {
    if (static_cast<size_t>(index) >= mf.size())
      throw Error(path_ + ": no image at index " + std::to_string(index) + " (has " + std::to_string(mf.size()) + ")");
    chosen = &mf[static_cast<size_t>(index)];
  } else {
    if (mf.size() != 1)
      throw Error(path_ + ": holds " + std::to_string(mf.size()) + " images; choose one with --image or --index");
    chosen = &mf[0];
  }
  if (name.empty() && !tags(*chosen).empty()) name = tags(*chosen)[0];
  if (!chosen->contains("Config") || !(*chosen)["Config"].is_string() || !chosen->contains("Layers") ||
      !(*chosen)["Layers"].is_array())
    throw Error(path_ + ": manifest.json entry without Config or Layers");

  Image img;
  img.ref = name;
  std::string cpath = (*chosen)["Config"].get<std::string>();
  std::string ctext = read_small(cpath, path_ + ": config " + cpath);
  std::string chex = sha256_hex(ctext);
  // The config's file name is its digest (blobs/sha256/<hex> or <hex>.json).
  std::string base = cpath.substr(cpath.rfind('/') == std::string::npos ? 0 : cpath.rfind('/') + 1);
  if (base.size() >= 64 && is_hex64(base.substr(0, 64)) && base.substr(0, 64) != chex)
    throw Error(path_ + ": config " + cpath + ": digest mismatch (content has sha256:" + chex + ")");
  img.config_digest = "sha256:" + chex;
  img.config = parse_json(ctext, path_ + ": config " + cpath);
  const json diff_ids = img.config.value("rootfs", json::object()).value("diff_ids", json::array());
  const json& layers = (*chosen)["Layers"];
  if (!diff_ids.is_array() || diff_ids.size() != layers.size())
    throw Error(path_ + ": manifest.json has " + std::to_string(layers.size()) +
                " layers but the config lists " + std::to_string(diff_ids.size()) + " diff_ids");
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerRef r;
    if (!layers[i].is_string()) throw Error(path_ + ": manifest.json: layer " + std::to_string(i) + " is not a path");
    r.path = layers[i].get<std::string>();
    r.diff_id = diff_ids[i].is_string() ? diff_ids[i].get<std::string>() : "";
    digest_hex(r.diff_id, path_ + ": diff_id " + std::to_string(i));
    std::string lbase = r.path.substr(r.path.rfind('/') == std::string::npos ? 0 : r.path.rfind('/') + 1);
    if (lbase.size() >= 64 && is_hex64(lbase.substr(0, 64))) r.digest = "sha256:" + lbase.substr(0, 64);
    else if (r.path.size() > 71 && r.path.rfind("blobs/sha256/", 0) == 0) r.digest = "sha256:" + r.path.substr(13);
    if (!open_in_root(root_.get(), r.path, O_RDONLY, r.path))
      throw Error(path_ + ": manifest names a missing layer " + r.path);
    img.layers.push_back(std::move(r));
  }
  return img;
}

}  // namespace oci::image
