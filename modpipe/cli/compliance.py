"""`modpipe compliance`: the legal obligations (design.md section 1) -> the features that meet each one and the
tests that prove it, read from the code and from the test suite's `@pytest.mark.obligation("L<n>")` markers."""

from __future__ import annotations

import ast
import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from modpipe.cli.common import fail

OBLIGATIONS: dict[str, str] = {
    "L1": "Do not publish or transmit the nine prohibited kinds of content",
    "L2": "Stop transmission, keep the records, report to the authorities",
    "L3": "News/BBS services: record content, time, IP; keep 60 days; hand over on request",
    "L4": "Group services: keep network logs at least six months",
    "L5": "Public-account services: record content and logs; keep at least six months",
    "L6": "Graded measures against violating accounts and groups; credit levels; blacklist",
    "L7": "Complaint and report channels, prompt handling, screening of malicious reports",
    "L8": "Protect identity and log data against leak, tampering, loss",
    "L9": "Provide data to the authorities on lawful request",
}

# The modules that carry each obligation; `modpipe compliance` checks that every one of them exists.
FEATURES: dict[str, tuple[str, ...]] = {
    "L1": ("classifiers.tagger", "pipeline.moderation", "modpipe.contracts.commands"),
    "L2": ("modpipe.contracts.commands", "retention.sink", "retention.exports"),
    "L3": ("retention.envelope", "retention.dates", "retention.sweeper"),
    "L4": ("retention.dates", "retention.sweeper"),
    "L5": ("retention.dates", "retention.sweeper"),
    "L6": ("measures",),
    "L7": ("reports",),
    "L8": ("retention.codec", "retention.audit", "retention.bundle", "review.desk.users", "review.desk.sessions"),
    "L9": ("retention.exports", "retention.bundle"),
}


@dataclass(frozen=True)
class Proof:
    test: str  # path::name
    obligations: tuple[str, ...]


def _codes(node: ast.expr) -> tuple[str, ...]:
    """The codes of a `pytest.mark.obligation("L1", ...)` call, or () for any other decorator."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "obligation"):
        return ()
    return tuple(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))


def proofs(tests: Path) -> list[Proof]:
    """Every test function marked with an obligation, itself or through its module's `pytestmark`."""
    found: list[Proof] = []
    for path in sorted(tests.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module_codes: tuple[str, ...] = ()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
                values = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
                module_codes += tuple(c for v in values for c in _codes(v))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                codes = module_codes + tuple(c for d in node.decorator_list for c in _codes(d))
                if codes:
                    found.append(Proof(f"{path.relative_to(tests.parent)}::{node.name}", tuple(dict.fromkeys(codes))))
    return found


@dataclass(frozen=True)
class Row:
    obligation: str
    features: dict[str, bool]  # module -> whether it exists
    tests: list[str]


def matrix(tests: Path) -> dict[str, Row]:
    by_code: dict[str, list[str]] = {code: [] for code in OBLIGATIONS}
    for proof in proofs(tests):
        for code in proof.obligations:
            by_code.setdefault(code, []).append(proof.test)
    return {
        code: Row(
            OBLIGATIONS.get(code, "unknown obligation code"),
            {m: importlib.util.find_spec(m) is not None for m in FEATURES.get(code, ())},
            found,
        )
        for code, found in by_code.items()
    }


def compliance(
    tests: Annotated[Path, typer.Option(help="The test suite to read the obligation markers from.")] = Path("tests"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrix as JSON.")] = False,
) -> None:
    """Print L1-L9 -> the features that meet each obligation and the tests that prove it; exit 1 if one has none."""
    if not tests.is_dir():
        fail(f"--tests {tests}: expected the folder of the test suite (run from a checkout of modpipe)", code=2)
    table = matrix(tests)
    if as_json:
        print(json.dumps({code: asdict(row) for code, row in table.items()}, ensure_ascii=False, indent=2))
    else:
        for code, row in table.items():
            features = ", ".join(m if ok else f"{m} (missing)" for m, ok in row.features.items())
            print(f"{code}  {row.obligation}\n    features: {features or '-'}")
            for test in row.tests or ["NO TEST"]:
                print(f"    proved by {test}")
    failing = [code for code, row in table.items() if not row.tests or not all(row.features.values())]
    if failing:
        fail(f"obligations without a test or with a missing feature: {failing}")
