#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/container/state_store.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/path_in_root.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"
#include "spec/tables.hpp"

TEST_CASE("signals by name, SIG prefix, number and realtime") {
  using oci::spec::parse_signal;
  CHECK(parse_signal("TERM") == SIGTERM);
  CHECK(parse_signal("SIGKILL") == SIGKILL);
  CHECK(parse_signal("sigusr1") == SIGUSR1);
  CHECK(parse_signal("9") == 9);
  CHECK(parse_signal("RTMIN+2") == SIGRTMIN + 2);
  CHECK(parse_signal("RTMAX-1") == SIGRTMAX - 1);
  CHECK_FALSE(parse_signal("FOO"));
  CHECK_FALSE(parse_signal("0"));
  CHECK_FALSE(parse_signal("99"));
  CHECK_FALSE(parse_signal(""));
}

TEST_CASE("lexical path cleaning and joining") {
  using namespace oci::fs;
  CHECK(clean("/a//b/./c/..") == "/a/b");
  CHECK(clean("/../x") == "/x");
  CHECK(clean("a/../../b") == "../b");
  CHECK(clean("") == ".");
  CHECK(join("/a/", "/b") == "/a/b");
  CHECK(join("/a", "b") == "/a/b");
  std::string parent, name;
  oci::linux_::split_parent("/dev/net/tun", parent, name);
  CHECK(parent == "/dev/net");
  CHECK(name == "tun");
  oci::linux_::split_parent("/x/", parent, name);
  CHECK(parent == "/");
  CHECK(name == "x");
}

TEST_CASE("container id validation") {
  using oci::container::validate_id;
  CHECK_NOTHROW(validate_id("abc-1_2.3+x"));
  CHECK_NOTHROW(validate_id(std::string(255, 'a')));
  CHECK_THROWS_WITH(validate_id(""), "invalid container id: must not be empty");
  CHECK_THROWS(validate_id(".."));
  CHECK_THROWS(validate_id("."));
  CHECK_THROWS(validate_id("a/b"));
  CHECK_THROWS(validate_id(std::string(256, 'a')));
  CHECK_THROWS(validate_id("a b"));
}

TEST_CASE("state file round trip") {
  oci::container::PersistedState s;
  s.id = "c1";
  s.pid = 42;
  s.pid_start = 123456;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-01-01T00:00:00.000000001Z";
  s.annotations["k"] = "v";
  s.cgroup.dirs = {"/sys/fs/cgroup/pids/c1"};
  s.cgroup.created = {"/sys/fs/cgroup/pids/c1"};
  auto r = oci::container::state_from_json(oci::container::to_json(s));
  CHECK(r.id == "c1");
  CHECK(r.pid == 42);
  CHECK(r.pid_start == 123456);
  CHECK(r.annotations.at("k") == "v");
  CHECK(r.cgroup.created == s.cgroup.created);
  CHECK_THROWS(oci::container::state_from_json("{"));
}

TEST_CASE("device list: defaults, overridden by config paths") {
  oci::spec::Config c;
  auto d = oci::linux_::device_list(c);
  CHECK(d.size() == 6);
  c.linux.emplace();
  oci::spec::Device null;
  null.type = "c";
  null.path = "/dev/null";
  null.major = 1;
  null.minor = 3;
  null.file_mode = 0600;
  oci::spec::Device fuse = null;
  fuse.path = "/dev/fuse";
  fuse.major = 10;
  fuse.minor = 229;
  c.linux->devices = {null, fuse};
  d = oci::linux_::device_list(c);
  CHECK(d.size() == 7);
  int nulls = 0;
  for (auto& x : d)
    if (x.path == "/dev/null") {
      ++nulls;
      CHECK(*x.file_mode == 0600);
    }
  CHECK(nulls == 1);
}

#include "runtime/util/passwd.hpp"

TEST_CASE("passwd lookup by uid without NSS") {
  const char* text = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                     "short:x:7\n";
  CHECK(oci::passwd::field_for_uid(text, 0, 0) == "root");
  CHECK(oci::passwd::field_for_uid(text, 65534, 5) == "/nonexistent");
  CHECK_FALSE(oci::passwd::field_for_uid(text, 7, 0));
  CHECK_FALSE(oci::passwd::field_for_uid(text, 1000, 0));
}

TEST_CASE("copy_tree copies files, directories, symlinks and fifos with their modes") {
  char tmpl[] = "/tmp/oci-unit-copy-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string base = tmpl;
  const std::string src = base + "/src", dst = base + "/dst";
  REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  REQUIRE(::mkdir(dst.c_str(), 0755) == 0);
  REQUIRE(::mkdir((src + "/sub").c_str(), 0750) == 0);
  oci::fs::write_file(src + "/sub/file", "hello", O_CREAT | O_TRUNC);
  REQUIRE(::chmod((src + "/sub/file").c_str(), 0640) == 0);
  REQUIRE(::symlink("../outside", (src + "/link").c_str()) == 0);
  REQUIRE(::mkfifo((src + "/fifo").c_str(), 0600) == 0);
  {
    oci::UniqueFd in(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    oci::UniqueFd out(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(in);
    REQUIRE(out);
    oci::fs::copy_tree(in.get(), out.get(), "src");
  }
  CHECK(oci::fs::read_file(dst + "/sub/file") == "hello");
  struct stat st;
  REQUIRE(::stat((dst + "/sub/file").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  REQUIRE(::stat((dst + "/sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  char target[64] = {};
  REQUIRE(::readlink((dst + "/link").c_str(), target, sizeof target - 1) > 0);
  CHECK(std::string(target) == "../outside");
  REQUIRE(::lstat((dst + "/fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  // A second copy onto existing names fails and names the file.
  oci::UniqueFd in(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  oci::UniqueFd out(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  CHECK_THROWS_WITH_AS(oci::fs::copy_tree(in.get(), out.get(), "src"), doctest::Contains("src/"),
                       oci::Error);
  REQUIRE(std::system(("rm -rf " + base).c_str()) == 0);
}
