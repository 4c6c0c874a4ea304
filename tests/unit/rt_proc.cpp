// linux/proc.hpp: the verified procfs/sysfs access every runtime write under
// /proc goes through. Runs without root: only this process's own files.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "runtime/linux/proc.hpp"
#include "runtime/util/fd.hpp"
#include "runtime/util/fs.hpp"
#include "spec/error.hpp"

using oci::linux_::PseudoFs;

namespace {

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const oci::Error& e) {
    return e.what();
  }
  return "";
}

// A scratch directory removed with everything in it.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/oci-run-proc-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~ScratchDir() { (void)!std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("split_pseudo_path takes clean paths below the mount point only") {
  using oci::linux_::split_pseudo_path;
  auto p = split_pseudo_path(PseudoFs::Proc, "/proc/123/oom_score_adj");
  REQUIRE(p);
  CHECK(p->mount == "/proc");
  CHECK(p->rel == "123/oom_score_adj");
  auto s = split_pseudo_path(PseudoFs::Sys, "/sys/module/apparmor/parameters/enabled");
  REQUIRE(s);
  CHECK(s->mount == "/sys");
  CHECK(s->rel == "module/apparmor/parameters/enabled");
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc/"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/procx/1"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/sys/kernel"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "proc/self/stat"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc/self/../1/stat"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc/self//stat"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc/./self/stat"));
  CHECK_FALSE(split_pseudo_path(PseudoFs::Proc, "/proc/self/stat/"));
}

TEST_CASE("verified procfs read and write of this process's own files") {
  using namespace oci::linux_;
  // "self" is a plain symlink inside procfs: allowed.
  std::string stat = read_pseudo_file(PseudoFs::Proc, "/proc/self/stat");
  CHECK(stat.rfind(std::to_string(::getpid()) + " (", 0) == 0);
  std::string old = read_pseudo_file(PseudoFs::Proc, "/proc/thread-self/comm");
  write_pseudo_file(PseudoFs::Proc, "/proc/thread-self/comm", "proc-test");
  CHECK(read_pseudo_file(PseudoFs::Proc, "/proc/thread-self/comm") == "proc-test\n");
  write_pseudo_file(PseudoFs::Proc, "/proc/thread-self/comm", old.substr(0, old.size() - 1));
}

TEST_CASE("verified procfs access refuses the wrong filesystem, magic links and bad paths") {
  using namespace oci::linux_;
  CHECK(error_of([] { read_pseudo_file(PseudoFs::Sys, "/proc/self/stat"); }) ==
        "open /proc/self/stat: not a clean path below /sys");
  // /proc/self/fd/N and /proc/self/cwd are magic links: never followed.
  std::string e = error_of([] { read_pseudo_file(PseudoFs::Proc, "/proc/self/cwd"); });
  CHECK(e.find("open /proc/self/cwd: resolves through a symlink it must not follow") == 0);
  e = error_of([] { write_pseudo_file(PseudoFs::Proc, "/proc/self/no-such-file", "1"); });
  CHECK(e == "open /proc/self/no-such-file: No such file or directory");
  // A read-only file: refused at open (EACCES) or, for root, at write.
  e = error_of([] { write_pseudo_file(PseudoFs::Proc, "/proc/self/stat", "1"); });
  CHECK(e.find(" /proc/self/stat: ") != std::string::npos);
}

TEST_CASE("inside a root, /proc must be a real procfs mount, not a directory or a symlink") {
  using namespace oci::linux_;
  ScratchDir root;
  oci::fs::mkdir_p(root.path + "/proc/sys/kernel");
  oci::fs::write_file(root.path + "/proc/sys/kernel/x", "0", O_CREAT);
  oci::UniqueFd rootfd(::open(root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(rootfd);
  std::string e = error_of([&] {
    write_pseudo_file(PseudoFs::Proc, "/proc/sys/kernel/x", "1", rootfd.get());
  });
  CHECK(e.find("open /proc: is not on procfs (filesystem type 0x") == 0);
  CHECK(oci::fs::read_file(root.path + "/proc/sys/kernel/x") == "0");

  // An image whose /proc is a symlink to the host's /proc.
  ScratchDir evil;
  REQUIRE(::symlink("/proc", (evil.path + "/proc").c_str()) == 0);
  oci::UniqueFd evilfd(::open(evil.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(evilfd);
  e = error_of([&] {
    write_pseudo_file(PseudoFs::Proc, "/proc/self/comm", "x", evilfd.get());
  });
  CHECK(e.find("open /proc (for /proc/self/comm): ") == 0);
}

TEST_CASE("verified sysfs read") {
  using namespace oci::linux_;
  if (!oci::fs::exists("/sys/kernel")) return;  // no sysfs here
  // A directory, not a file: still proves the sysfs check passed before open failed.
  std::string e = error_of([] { read_pseudo_file(PseudoFs::Sys, "/sys/kernel/no-such"); });
  CHECK(e == "open /sys/kernel/no-such: No such file or directory");
  e = error_of([] { read_pseudo_file(PseudoFs::Proc, "/proc/sys/kernel/ostype"); });
  CHECK(e.empty());
}
