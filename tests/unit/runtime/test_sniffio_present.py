"""httpcore asks sniffio which async library runs, on every request and every connection change.

Without sniffio installed each ask is a failed `import`, which searches every entry of `sys.path`
on the file system, inside the event loop: it cost the app about a tenth of its CPU on the request
path before it was noticed. It is a declared dependency so that no lock refresh drops it.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_sniffio_is_installed_and_declared() -> None:
    assert importlib.util.find_spec("sniffio") is not None
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(dependency.split(">")[0].split("=")[0].strip() == "sniffio" for dependency in dependencies)
