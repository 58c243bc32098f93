"""`make mutation`'s score: per mutated module, the share of mutants the unit tests kill.

Run after `mutmut run` (from the repository root, where `mutants/` is). A mutant that survives
counts against the score unless `tests/mutation/equivalent.py` lists it as equivalent (same
behaviour as the original, so no test can kill it), with its reason. An entry that matches no
surviving mutant is reported too: either the code changed or a test now kills it, and the list
must say the truth.

    python -m tests.mutation.score [--show] [--fail-under 95]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.mutation.equivalent import EQUIVALENT, Equivalent

MUTANTS = Path("mutants")

# mutmut's exit codes (mutmut.stats.status_by_exit_code): which count as a kill.
KILLED_CODES = frozenset({1, 3, 24, -24, 152, 255, 36, 37})
"""A failing test (1, 3), a timeout (SIGXCPU, 36), or the type checker."""
NO_TESTS_CODES = frozenset({5, 33})


@dataclass
class ModuleScore:
    path: str
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        counted = self.total - self.equivalent
        return 100.0 if counted == 0 else 100.0 * self.killed / counted


def changed_lines(diff: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The removed and the added lines of a mutant's diff, stripped: what identifies the mutation."""
    lines = diff.splitlines()[2:]
    removed = tuple(line[1:].strip() for line in lines if line.startswith("-"))
    added = tuple(line[1:].strip() for line in lines if line.startswith("+"))
    return removed, added


def function_of(mutant_name: str) -> str:
    """`saleor_coinpayments.money.xǁMoneyǁ__add____mutmut_3` → `saleor_coinpayments.money.Money.__add__`."""
    module, _, mangled = mutant_name.rpartition(".")
    name = mangled.rsplit("__mutmut_", 1)[0].removeprefix("x_").removeprefix("x")
    return f"{module}.{name.strip('ǁ').replace('ǁ', '.')}"


def matches(entry: Equivalent, mutant_name: str, diff: str) -> bool:
    removed, added = changed_lines(diff)
    return entry.function == function_of(mutant_name) and (removed, added) == (
        tuple(line.strip() for line in entry.before),
        tuple(line.strip() for line in entry.after),
    )


def mutant_diff(mutant_name: str, path: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(mutant_name, path=path)


def score(show: bool) -> tuple[list[ModuleScore], list[Equivalent]]:
    used: set[int] = set()
    results: list[ModuleScore] = []
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        path = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        exit_codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        module = ModuleScore(path=path, total=len(exit_codes))
        for name, code in sorted(exit_codes.items()):
            if code in KILLED_CODES:
                module.killed += 1
                continue
            diff = mutant_diff(name, path)
            hits = [i for i, entry in enumerate(EQUIVALENT) if matches(entry, name, diff)]
            if hits and code not in NO_TESTS_CODES:
                module.equivalent += 1
                used.update(hits)
                continue
            module.survivors.append(name)
            if show:
                status = "no tests" if code in NO_TESTS_CODES else "survived" if code == 0 else f"exit {code}"
                print(f"# {name}: {status}\n{diff}\n")
        results.append(module)
    unused = [entry for i, entry in enumerate(EQUIVALENT) if i not in used]
    return results, unused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--show", action="store_true", help="print the diff of every survivor")
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 if a module scores below this")
    args = parser.parse_args(argv)
    if not MUTANTS.is_dir():
        print("no mutants/ here: run `make mutation` (or `mutmut run`) from the repository root first")
        return 2
    results, unused = score(args.show)
    print("| module | mutants | killed | equivalent | survived | score |")
    print("|---|---|---|---|---|---|")
    for m in results:
        print(f"| `{m.path}` | {m.total} | {m.killed} | {m.equivalent} | {len(m.survivors)} | {m.score:.1f} % |")
    for m in results:
        for name in m.survivors:
            print(f"survived: {name}   (see: mutmut show {name})")
    for entry in unused:
        print(f"stale entry in tests/mutation/equivalent.py (no surviving mutant matches): {entry.function}")
    if args.fail_under is not None and any(m.score < args.fail_under for m in results):
        print(f"FAILED: a module scores below {args.fail_under:g} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
