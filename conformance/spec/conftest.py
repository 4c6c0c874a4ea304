"""Fixtures for the spec conformance suite: those of tests/integration.

tests/integration/conftest.py is loaded under its own module name (this file is
itself imported as `conftest`, so `from conftest import *` would import
itself) and everything it defines is re-exported here, the leading-underscore
fixtures (`_template_cleanup`) and the autouse leak check included.
"""
import importlib.util
import sys
from pathlib import Path

_IT_DIR = Path(__file__).resolve().parents[2] / "tests" / "integration"
_spec = importlib.util.spec_from_file_location("oci_integration_conftest", _IT_DIR / "conftest.py")
_it = importlib.util.module_from_spec(_spec)
sys.modules["oci_integration_conftest"] = _it
_spec.loader.exec_module(_it)

globals().update({k: v for k, v in vars(_it).items() if not k.startswith("__")})
