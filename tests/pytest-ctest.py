#!/usr/bin/env python3
"""Runs pytest for ctest and reports a suite that did not run as skipped.

    python3 tests/pytest-ctest.py PYTEST_ARGS...

Exit status: pytest's, except 77 (the SKIP_RETURN_CODE that ctest is told
about) when no test was collected (pytest's 5) or when every test that ran
was skipped. Then the skip reasons are printed, so that ctest's "Skipped"
comes with why. A suite where some tests passed and others were skipped is a
pass: pytest's summary (-rs) names the skipped ones.
"""

from __future__ import annotations

import collections
import sys

import pytest

SKIP_EXIT = 77


class Outcomes:
    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.reasons: collections.Counter[str] = collections.Counter()

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.skipped:
                self.counts["skipped"] += 1
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
                self.reasons[reason] += 1
            elif report.failed:
                self.counts["failed"] += 1
            else:
                self.counts["passed"] += 1
        elif report.when == "teardown" and report.failed:
            self.counts["failed"] += 1


def verdict(rc: int, counts: collections.Counter[str]) -> int:
    """The exit status for ctest, from pytest's and the outcomes (pure: unit-tested)."""
    if rc == pytest.ExitCode.NO_TESTS_COLLECTED:
        return SKIP_EXIT
    if rc == pytest.ExitCode.OK and counts["passed"] == 0 and counts["failed"] == 0 and counts["skipped"] > 0:
        return SKIP_EXIT
    return int(rc)


def main(argv: list[str]) -> int:
    outcomes = Outcomes()
    rc = pytest.main(argv, plugins=[outcomes])
    if int(rc) == SKIP_EXIT:  # a conftest that already says "skipped" (conformance/engines)
        return SKIP_EXIT
    status = verdict(rc, outcomes.counts)
    if status == SKIP_EXIT:
        if rc == pytest.ExitCode.NO_TESTS_COLLECTED:
            print("pytest-ctest: skipped: no tests collected")
        else:
            print(f"pytest-ctest: skipped: all {outcomes.counts['skipped']} tests skipped:")
            for reason, n in outcomes.reasons.most_common():
                print(f"  {n} x {reason}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
