"""design.md's import table, enforced: the picture of the house stays true."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("loyalty", "models", "integrations", "services", "webhooks", "api", "workers")
ALLOWED = {
    "loyalty": set(),
    "models": {"loyalty"},
    "integrations": {"loyalty"},
    "services": {"loyalty", "models", "integrations"},
    "webhooks": {"services", "integrations"},
    "api": {"services", "integrations"},
    "workers": {"services"},
}
FORBIDDEN_IN_LOYALTY = {"flask", "sqlalchemy", "requests", "redis", "rq", "time", "socket", "os"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_each_layer_imports_only_what_design_md_allows(package):
    offences = []
    for path in files_of(package):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                offences.append(f"{path.relative_to(ROOT)} imports {module}")
            if top in ("app", "settings", "cli", "devtools"):
                offences.append(f"{path.relative_to(ROOT)} imports the wiring ({module})")
    assert offences == []


def test_the_domain_does_no_io_and_reads_no_clock():
    offences = []
    for path in files_of("loyalty"):
        source = path.read_text()
        for module in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN_IN_LOYALTY:
                offences.append(f"{path.name} imports {module}")
        if ".now(" in source or "utcnow" in source or "today(" in source:
            offences.append(f"{path.name} reads the clock")
    assert offences == []


def test_every_layer_exists_as_a_package():
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").exists(), package
