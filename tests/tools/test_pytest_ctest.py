"""tests/pytest-ctest.py: which pytest results ctest sees as skipped (77)."""

from __future__ import annotations

import collections
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

WRAPPER = Path(__file__).resolve().parents[1] / "pytest-ctest.py"
_spec = importlib.util.spec_from_file_location("pytest_ctest", WRAPPER)
pytest_ctest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pytest_ctest)


def counts(**kw) -> collections.Counter:
    return collections.Counter(kw)


@pytest.mark.parametrize(
    "rc, outcome, want",
    [
        (0, counts(passed=3), 0),
        (0, counts(passed=1, skipped=5), 0),
        (0, counts(skipped=5), 77),
        (5, counts(), 77),
        (1, counts(failed=1, skipped=4), 1),
        (1, counts(failed=1), 1),
        (2, counts(), 2),
    ],
)
def test_verdict(rc, outcome, want):
    assert pytest_ctest.verdict(rc, outcome) == want


def run(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_x.py").write_text(body)
    return subprocess.run(
        [sys.executable, str(WRAPPER), "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )


def test_all_skipped_suite_exits_77_with_the_reason(tmp_path):
    r = run(tmp_path, "import pytest\n@pytest.mark.skip(reason='no blkio.weight here')\ndef test_a(): pass\n")
    assert r.returncode == 77, r
    assert "all 1 tests skipped" in r.stdout and "no blkio.weight here" in r.stdout


def test_partly_skipped_suite_passes(tmp_path):
    r = run(tmp_path, "import pytest\n@pytest.mark.skip(reason='x')\ndef test_a(): pass\ndef test_b(): pass\n")
    assert r.returncode == 0, r


def test_failure_stays_a_failure(tmp_path):
    r = run(tmp_path, "def test_a(): assert False\n")
    assert r.returncode == 1, r
