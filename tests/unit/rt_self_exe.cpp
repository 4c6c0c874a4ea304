#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/statvfs.h>

#include "runtime/linux/self_exe.hpp"

using oci::linux_::SelfExeKind;

TEST_CASE("only create, run and exec re-execute from a protected copy") {
  using oci::linux_::command_spawns_container_processes;
  CHECK(command_spawns_container_processes("create"));
  CHECK(command_spawns_container_processes("run"));
  CHECK(command_spawns_container_processes("exec"));
  for (const char* c : {"start", "state", "kill", "delete", "list", "ps", "spec", "features", "update", "events",
                        "pause", "resume", "", "Create"})
    CHECK_FALSE(command_spawns_container_processes(c));
}

TEST_CASE("a binary is protected on a read-only mount or as a fully sealed memfd") {
  using oci::linux_::classify_self_exe;
  CHECK(classify_self_exe(0, -1) == SelfExeKind::kWritable);
  CHECK(classify_self_exe(ST_NOSUID, -1) == SelfExeKind::kWritable);
  CHECK(classify_self_exe(ST_RDONLY, -1) == SelfExeKind::kReadOnlyMount);
  CHECK(classify_self_exe(ST_RDONLY | ST_NOSUID, 0) == SelfExeKind::kReadOnlyMount);
  // A memfd that is not (fully) sealed can still be written or truncated.
  CHECK(classify_self_exe(0, 0) == SelfExeKind::kWritable);
  CHECK(classify_self_exe(0, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) == SelfExeKind::kWritable);
  CHECK(classify_self_exe(0, F_SEAL_WRITE) == SelfExeKind::kWritable);
  CHECK(classify_self_exe(0, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == SelfExeKind::kSealedMemfd);
  CHECK(classify_self_exe(0, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == SelfExeKind::kSealedMemfd);
}
