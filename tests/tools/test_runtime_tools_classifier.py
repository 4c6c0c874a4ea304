"""conformance/run-runtime-tools.py: how a validation program's output is
classified. The fixtures are shaped like the suite's real output: tap-go
writes its YAML diagnostics as indented JSON between `---` and `...`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "conformance" / "run-runtime-tools.py"
_spec = importlib.util.spec_from_file_location("run_runtime_tools", RUNNER)
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)

# hooks / prestart / poststart_fail: no assertion, the error as JSON.
HOOKS_JSON_ERROR = """TAP version 13
1..0
  ---
  {
    "error": "Hooks MUST be called in the listed order",
    "reference": "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#posix-platform-hooks"
  }
  ...
"""

# The same in YAML form.
YAML_ERROR = """TAP version 13
1..0
  ---
  error: Pre-start hooks MUST be called after the start operation
  reference: https://example/config.md
  ...
"""

# start: an `ok` whose diagnostic holds the error it expected (SpecErrorOK).
EXPECTED_ERROR_OK = """TAP version 13
ok 1 - start` operation MUST generate an error if it is not provided the container ID
  ---
  {
    "error": "exit status 1",
    "reference": "https://github.com/opencontainers/runtime-spec/blob/v1.3.0/runtime.md#start"
  }
  ...
ok 2 - attempting to `start` a container that is not `created` MUST generate an error
1..2
"""

# RuntimeInsideValidate: the diagnostic comes before its test line.
INSIDE_OK = """TAP version 13
  ---
  {
    "stderr": "",
    "stdout": "TAP version 13\\nok 1 - root filesystem\\n1..1\\n"
  }
  ...
ok 1 - hostname
1..1
"""

INSIDE_ERROR = """TAP version 13
  ---
  {
    "error": "exit status 1",
    "stderr": "oci-run: boom",
    "stdout": ""
  }
  ...
not ok 1 - hostname
1..1
"""

NESTED_NOT_OK = """TAP version 13
ok 1 - outer
    not ok 1 - inner check
1..1
"""

PLAIN_PASS = """TAP version 13
ok 1 - a
ok 2 - b
1..2
"""

PLAN_MISMATCH = """TAP version 13
ok 1 - a
1..3
"""


CASES = [
    ("json error, no assertion (hooks)", HOOKS_JSON_ERROR, 0, False, "FAIL-DIAG"),
    ("yaml error, no assertion", YAML_ERROR, 0, False, "FAIL-DIAG"),
    ("error after the plan of a passing run", PLAIN_PASS + '  ---\n  {\n    "error": "x"\n  }\n  ...\n', 0, False,
     "FAIL-DIAG"),
    ("bare error line, no TAP", "error: something broke\n", 0, False, "FAIL-DIAG"),
    ("expected error on an ok line", EXPECTED_ERROR_OK, 0, False, "PASS"),
    ("inside validate, ok", INSIDE_OK, 0, False, "PASS"),
    ("inside validate, error", INSIDE_ERROR, 0, False, "FAIL"),
    ("nested not ok", NESTED_NOT_OK, 0, False, "FAIL"),
    ("non-zero exit with passing TAP", PLAIN_PASS, 1, False, "FAIL"),
    ("non-zero exit, no TAP", "panic: oops\n", 2, False, "FAIL-NOTAP"),
    ("timeout", PLAIN_PASS, 0, True, "TIMEOUT"),
    ("plan mismatch", PLAN_MISMATCH, 0, False, "FAIL"),
    ("plain pass", PLAIN_PASS, 0, False, "PASS"),
    ("no assertion, no error", "TAP version 13\n1..0\n", 0, False, "NOASSERT"),
]


@pytest.mark.parametrize("name, out, rc, timed_out, want", CASES, ids=[c[0] for c in CASES])
def test_classify(name, out, rc, timed_out, want):
    status, _, _ = rt.classify(out, rc, timed_out)
    assert status == want, name
    assert (status in rt.PASS_STATUSES) == (want in rt.PASS_STATUSES), name


@pytest.mark.parametrize(
    "statuses, want",
    [
        (["PASS"] * 3, ("PASS", 3)),
        (["PASS", "FAIL-DIAG", "PASS"], ("FLAKY", 2)),
        (["FAIL", "FAIL"], ("FAIL", 0)),
        (["NOASSERT"], ("NOASSERT", 1)),
    ],
)
def test_summarize_repeats(statuses, want):
    assert rt.summarize(statuses) == want
    assert (want[0] in rt.PASS_STATUSES) == (want[1] == len(statuses))
