"""axe-core in the page, for the accessibility tests: installed by the suite itself on first use.

`tests/browser/axe/` pins the version (package.json and its package-lock.json); `npm ci` installs
exactly that from the npm registry into `tests/browser/axe/node_modules` (git-ignored). A file lock
keeps parallel test workers from installing at the same time.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ` +
    v.nodes.map((n) => n.target.join(" ")).join(", "));
}"""
SETTLED = "() => document.getAnimations().every((a) => a.playState !== 'running')"


def axe_source() -> str:
    """The pinned axe-core script, installed with `npm ci` if it is not there yet."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility tests (Debian: apt-get install npm)")
        with (AXE_DIR / ".install.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not AXE_SCRIPT.exists():
                subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR)],
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
    return AXE_SCRIPT.read_text()


def violations(page: Any, source: str) -> list[str]:
    """axe-core's violations on the page as it is now (after any running transition ended). The
    page's context must bypass its CSP (`bypass_csp=True`): axe is injected as an inline script."""
    page.wait_for_function(SETTLED)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=source)
    found: list[str] = page.evaluate(RUN)
    return found


SIZES = ({"width": 390, "height": 844}, {"width": 1280, "height": 900})
SCHEMES = ("light", "dark")


def violations_everywhere(page: Any, source: str, what: str) -> list[str]:
    """Violations at phone and desktop width, in light and dark, each labelled with where."""
    found: list[str] = []
    for size in SIZES:
        page.set_viewport_size(size)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            found += [f"{what} at {size['width']}px, {scheme}: {v}" for v in violations(page, source)]
    page.emulate_media(color_scheme="light")
    return found
