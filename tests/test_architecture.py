"""The layer contracts in pyproject.toml hold, and import-linter really fails on a forbidden import.

Runs `lint-imports` (the same command .ci/run uses) on a copy of the tree, once as it is and once
with one forbidden import added per contract, so a contract that silently stopped matching any
module would fail here."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

FORBIDDEN = {
    "tracker imports notifications": ("tracker/insights/selectors.py", "import notifications.models\n"),
    "a model imports a service": ("tracker/entries/models.py", "import tracker.entries.services.checkins\n"),
    "a package imports another's api": ("tracker/data_rights/api/views.py", "import tracker.entries.api.checkins\n"),
    "a service imports DRF": ("tracker/sharing/services.py", "import rest_framework.serializers\n"),
}


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"import-linter is not installed next to {sys.executable} (requirements-dev.txt)")
    copy = tmp_path_factory.mktemp("tree")
    for name in ("tracker", "notifications", "config"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.json", "static"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_tree_keeps_every_contract(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_a_forbidden_import_fails_the_check(tree, case):
    relative, line = FORBIDDEN[case]
    target = tree / relative
    original = target.read_text()
    target.write_text(original + "\n" + line)
    try:
        result = lint(tree)
    finally:
        target.write_text(original)
    assert result.returncode != 0, f"{case}: lint-imports passed\n{result.stdout}"
