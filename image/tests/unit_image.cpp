// Unit tests for oci-run-image's pure parts: digests, reference matching and the
// config.json derived from an image config (no rootfs: user names must be numeric).
#include <doctest/doctest.h>

#include "image/bundle.hpp"
#include "image/fsutil.hpp"
#include "image/source.hpp"
#include "spec/error.hpp"

using namespace oci::image;
using json = nlohmann::json;

TEST_CASE("sha256 of known strings") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a", 1);
  h.update("bc", 2);
  CHECK(h.hex() == sha256_hex("abc"));
  CHECK(is_hex64(sha256_hex("x")));
  CHECK_FALSE(is_hex64("ABC"));
}

TEST_CASE("image references match with and without registry and tag") {
  CHECK(ref_matches("busybox:test", "localhost/busybox:test"));
  CHECK(ref_matches("localhost/busybox:test", "localhost/busybox:test"));
  CHECK(ref_matches("busybox", "docker.io/library/busybox:latest"));
  CHECK(ref_matches("localhost/busybox:test", "test"));  // OCI ref.name holding only the tag
  CHECK_FALSE(ref_matches("busybox:other", "localhost/busybox:test"));
  CHECK_FALSE(ref_matches("alpine", "busybox"));
}

TEST_CASE("config.json from an image config") {
  json img = {{"architecture", "amd64"},
              {"os", "linux"},
              {"config",
               {{"Entrypoint", {"/bin/tini", "--"}},
                {"Cmd", {"sh", "-c", "echo hi"}},
                {"Env", {"PATH=/opt/bin:/bin", "A=1"}},
                {"WorkingDir", "/srv"},
                {"User", "1000:1001"},
                {"Labels", {{"org.example.k", "v"}}},
                {"ExposedPorts", {{"80/tcp", json::object()}, {"53/udp", json::object()}}},
                {"StopSignal", "SIGQUIT"}}}};
  CreateOptions o;
  auto spec = make_config(img, "localhost/x:1", o, -1);
  CHECK(spec["process"]["args"] == json({"/bin/tini", "--", "sh", "-c", "echo hi"}));
  CHECK(spec["process"]["cwd"] == "/srv");
  CHECK(spec["process"]["user"]["uid"] == 1000);
  CHECK(spec["process"]["user"]["gid"] == 1001);
  CHECK(spec["process"]["terminal"] == false);
  CHECK(spec["root"]["readonly"] == false);
  auto env = spec["process"]["env"];
  CHECK(std::find(env.begin(), env.end(), "PATH=/opt/bin:/bin") != env.end());
  CHECK(std::find(env.begin(), env.end(), "A=1") != env.end());
  CHECK(spec["annotations"]["org.example.k"] == "v");
  CHECK(spec["annotations"]["org.opencontainers.image.stopSignal"] == "SIGQUIT");
  CHECK(spec["annotations"]["org.opencontainers.image.exposedPorts"] == "53/udp,80/tcp");
  CHECK(spec["annotations"]["org.opencontainers.image.ref.name"] == "localhost/x:1");
  // The defaults of `oci-run spec` are kept.
  CHECK(spec["linux"]["namespaces"].size() >= 5);
  CHECK(spec["mounts"].size() >= 5);

  o.args = std::vector<std::string>{"id"};
  o.env = {"A=2", "B=3"};
  o.hostname = "box";
  spec = make_config(img, "", o, -1);
  CHECK(spec["process"]["args"] == json({"/bin/tini", "--", "id"}));
  CHECK(spec["hostname"] == "box");
  env = spec["process"]["env"];
  CHECK(std::find(env.begin(), env.end(), "A=2") != env.end());
  CHECK(std::find(env.begin(), env.end(), "A=1") == env.end());

  o.entrypoint = std::vector<std::string>{};
  o.args.reset();
  CHECK_THROWS_AS(make_config(json{{"config", {{"Cmd", nullptr}}}}, "", o, -1), oci::Error);
  o.user = "nobody";  // a name needs the image's /etc/passwd
  o.args = std::vector<std::string>{"x"};
  CHECK_THROWS_WITH_AS(make_config(img, "", o, -1), doctest::Contains("not found"), oci::Error);
}
