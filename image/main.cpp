// oci-run-image: turn a docker-archive, OCI layout or oci-archive into a bundle
// that oci-run can run. Errors are thrown as oci::Error and reported once here.
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "image/bundle.hpp"
#include "image/store.hpp"
#include "runtime/version/version.hpp"
#include "spec/error.hpp"

namespace {

using namespace oci::image;

constexpr const char* kUsage =
    "usage: oci-run-image [--store DIR] COMMAND ...\n"
    "\n"
    "  create [--image REF | --index N] [--storage auto|overlay|btrfs|copy]\n"
    "         [--env K=V]... [--hostname H] [--user U] [--entrypoint PROG]\n"
    "         [--arg ARG]... [--tty] [--quiet] SOURCE BUNDLE [--|--args ARG...]\n"
    "      SOURCE: a docker-archive tar, an oci-archive tar or an OCI layout directory.\n"
    "      Arguments (--arg, or after --) replace the image's Cmd.\n"
    "  remove BUNDLE      unmount and delete a bundle made by create\n"
    "  gc                 delete layers that no bundle uses\n"
    "  list               bundles and layers in the store\n"
    "  --version          print the version\n"
    "\n"
    "The store is --store DIR, else $OCI_RUN_IMAGE_STORE, else /var/lib/oci-run-image.\n";

struct Args {
  std::vector<std::string> v;
  size_t i = 0;
  bool more() const { return i < v.size(); }
  const std::string& peek() const { return v[i]; }
  std::string next() { return v[i++]; }
  // "--flag value" or "--flag=value"
  bool option(const std::string& name, std::string& out) {
    const std::string& a = v[i];
    if (a == name) {
      if (i + 1 >= v.size()) throw oci::Error(name + " needs a value");
      out = v[i + 1];
      i += 2;
      return true;
    }
    if (a.rfind(name + "=", 0) == 0) {
      out = a.substr(name.size() + 1);
      ++i;
      return true;
    }
    return false;
  }
};

Storage parse_storage(const std::string& s) {
  if (s == "auto") return Storage::Auto;
  if (s == "overlay") return Storage::Overlay;
  if (s == "btrfs") return Storage::Btrfs;
  if (s == "copy") return Storage::Copy;
  throw oci::Error("--storage " + s + ": expected auto, overlay, btrfs or copy");
}

int cmd_create(Args& a, const std::string& store) {
  CreateOptions o;
  o.store = store;
  std::vector<std::string> pos, extra_args;
  bool saw_dashdash = false;
  while (a.more()) {
    std::string val;
    if (a.peek() == "--" || a.peek() == "--args") {  // the rest is the command
      a.next();
      saw_dashdash = true;
      while (a.more()) extra_args.push_back(a.next());
    } else if (a.option("--image", val)) {
      o.image_ref = val;
    } else if (a.option("--index", val)) {
      try {
        o.index = std::stoi(val);
      } catch (...) {
        throw oci::Error("--index " + val + ": not a number");
      }
      if (o.index < 0) throw oci::Error("--index " + val + ": must be >= 0");
    } else if (a.option("--storage", val)) {
      o.storage = parse_storage(val);
    } else if (a.option("--env", val)) {
      o.env.push_back(val);
    } else if (a.option("--hostname", val)) {
      o.hostname = val;
    } else if (a.option("--user", val)) {
      o.user = val;
    } else if (a.option("--entrypoint", val)) {
      o.entrypoint = val.empty() ? std::vector<std::string>{} : std::vector<std::string>{val};
    } else if (a.option("--arg", val)) {
      if (!o.args) o.args.emplace();
      o.args->push_back(val);
    } else if (a.option("--store", val)) {
      o.store = val;
    } else if (a.peek() == "--tty" || a.peek() == "-t") {
      a.next();
      o.tty = true;
    } else if (a.peek() == "--quiet" || a.peek() == "-q") {
      a.next();
      o.quiet = true;
    } else if (a.peek().size() > 1 && a.peek()[0] == '-') {
      throw oci::Error("create: unknown option " + a.peek());
    } else {
      pos.push_back(a.next());
    }
  }
  if (pos.size() != 2) throw oci::Error("create: expected SOURCE and BUNDLE\n" + std::string(kUsage));
  if (!o.image_ref.empty() && o.index >= 0) throw oci::Error("create: --image and --index exclude each other");
  if (saw_dashdash) {
    if (!o.args) o.args.emplace();
    for (auto& x : extra_args) o.args->push_back(x);
  }
  o.source = pos[0];
  o.bundle = pos[1];
  std::string used = create_bundle(o);
  if (!o.quiet) std::printf("%s (%s)\n", absolute_path(o.bundle).c_str(), used.c_str());
  return 0;
}

int cmd_remove(Args& a) {
  bool quiet = false;
  std::vector<std::string> pos;
  while (a.more()) {
    if (a.peek() == "--quiet" || a.peek() == "-q") {
      a.next();
      quiet = true;
    } else if (a.peek().size() > 1 && a.peek()[0] == '-') {
      throw oci::Error("remove: unknown option " + a.peek());
    } else {
      pos.push_back(a.next());
    }
  }
  if (pos.empty()) throw oci::Error("remove: expected BUNDLE");
  for (const auto& b : pos) remove_bundle(b, quiet);
  return 0;
}

int cmd_gc(Args& a, const std::string& store_root) {
  bool quiet = false;
  while (a.more()) {
    if (a.peek() == "--quiet" || a.peek() == "-q") quiet = true;
    else throw oci::Error("gc: unknown argument " + a.peek());
    a.next();
  }
  Store store(store_root);
  auto r = store.gc();
  if (!quiet) {
    for (const auto& b : r.bundles) std::printf("forgot bundle %s\n", b.c_str());
    for (const auto& c : r.chains) std::printf("removed chain %s\n", c.c_str());
    for (const auto& l : r.layers) std::printf("removed layer %s\n", l.c_str());
    for (const auto& t : r.tmp) std::printf("removed leftover tmp/%s\n", t.c_str());
  }
  return 0;
}

int cmd_list(Args& a, const std::string& store_root) {
  if (a.more()) throw oci::Error("list: unexpected argument " + a.peek());
  Store store(store_root, false);
  std::printf("%-40s %-8s %-6s %s\n", "BUNDLE", "STORAGE", "LAYERS", "IMAGE");
  std::vector<std::pair<std::string, int>> uses;
  for (const auto& r : store.bundles()) {
    if (r.contains("_broken")) continue;
    auto layers = r.value("layers", nlohmann::json::array());
    std::printf("%-40s %-8s %-6zu %s\n", r.value("bundle", "").c_str(), r.value("storage", "").c_str(),
                layers.size(), r.value("image", "").c_str());
    for (const auto& l : layers) {
      bool found = false;
      for (auto& [k, n] : uses)
        if (k == l.get<std::string>()) found = (++n, true);
      if (!found) uses.push_back({l.get<std::string>(), 1});
    }
  }
  std::printf("\n%-71s %s\n", "LAYER", "BUNDLES");
  DIR* d = ::opendir((store.root() + "/layers").c_str());
  if (d) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      int count = 0;
      for (auto& [k, c] : uses)
        if (k == n) count = c;
      std::printf("sha256:%-64s %d\n", n.c_str(), count);
    }
    ::closedir(d);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) a.v.push_back(argv[i]);
  try {
    std::string store = default_store();
    while (a.more()) {
      std::string val;
      if (a.option("--store", val)) store = val;
      else break;
    }
    if (a.more() && (a.peek() == "--version" || a.peek() == "version")) {
      std::fputs(oci::version::header("oci-run-image").c_str(), stdout);
      return 0;
    }
    if (!a.more() || a.peek() == "--help" || a.peek() == "-h" || a.peek() == "help") {
      std::fputs(kUsage, a.more() ? stdout : stderr);
      return a.more() ? 0 : 2;
    }
    std::string cmd = a.next();
    if (cmd == "create") return cmd_create(a, store);
    if (cmd == "remove" || cmd == "rm") return cmd_remove(a);
    if (cmd == "gc") return cmd_gc(a, store);
    if (cmd == "list" || cmd == "ls") return cmd_list(a, store);
    throw oci::Error("unknown command " + cmd + "\n" + kUsage);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oci-run-image: %s\n", e.what());
    return 1;
  }
}
