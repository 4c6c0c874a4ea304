// Deterministic fault points, for tests only (tests/stress/test_faults.py).
//
// fault_point("create:after-cgroup") makes this process SIGKILL itself when
// the environment variable OCI_RUN_FAULT equals that name, so that a test can
// kill oci-run at an exact point of create, start or delete and then check
// that `state`, `list` and `delete --force` still do the right thing.
// OCI_RUN_FAULT_DELAY_US=N additionally sleeps a random 0..N microseconds at
// every fault point (whatever its name), for runs that kill oci-run from
// outside at a random time.
//
// Neither variable is meant for production use. When both are unset the cost
// is one getenv per variable at the first call and a load and compare after
// that: no system call.
#pragma once

namespace oci::fault {

void fault_point(const char* name) noexcept;

}  // namespace oci::fault
