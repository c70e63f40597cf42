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


# --- inside services/: feature packages, each importing only the packages below it ------------------

SHARED = {"runtime", "errors", "health", "metrics", "logs"}  # the only modules of services/ outside a feature package
FEATURES = {  # a feature package and the feature packages it may import (design.md's house, bottom up)
    "merchants": set(),
    "outbox": set(),
    "ledger": {"outbox"},
    "rewards": {"ledger", "outbox"},
    "programs": {"ledger", "outbox", "rewards"},
    "inbox": {"merchants", "outbox"},
    "members": {"ledger", "rewards", "inbox", "outbox"},
    "settlement": {"ledger", "members", "programs"},
    "shopify": {"inbox", "members", "rewards", "settlement"},
    "toast": {"inbox", "ledger", "members", "merchants", "outbox", "programs", "rewards", "settlement"},
    "partner_api": {"ledger", "members", "merchants", "outbox", "programs", "rewards", "settlement", "shopify"},
}


def services_imported_by(path: Path) -> set[str]:
    """The services/ packages or shared modules ``path`` imports (``from services import x`` counts as ``x``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] == "services":
                found.update(alias.name for alias in node.names) if len(parts) == 1 else found.add(parts[1])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("services.") and alias.name.count(".") >= 1
            )
    return found


def test_services_holds_only_feature_packages_and_the_shared_modules():
    # A folder with no module (a package moved away, its __pycache__ left behind) is not part of the house.
    entries = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "services").iterdir()
        if p.name != "__init__.py" and (p.suffix == ".py" or any(p.rglob("*.py")))
    }
    assert entries == SHARED | set(FEATURES)
    for feature in FEATURES:
        assert (ROOT / "services" / feature / "__init__.py").read_text().startswith('"""'), feature


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_feature_package_imports_only_the_packages_below_it(feature):
    offences = []
    for path in sorted((ROOT / "services" / feature).rglob("*.py")):
        for imported in services_imported_by(path) - {feature} - SHARED:
            if imported not in FEATURES[feature]:
                offences.append(f"{path.relative_to(ROOT)} imports services.{imported}")
    assert offences == []


def test_the_shared_modules_import_no_feature_package():
    for name in SHARED:
        assert services_imported_by(ROOT / "services" / f"{name}.py") & set(FEATURES) == set(), name


def test_the_feature_packages_import_one_another_without_a_cycle():
    order, seen = [], set()

    def visit(feature, path=()):
        assert feature not in path, " -> ".join((*path, feature))
        if feature not in seen:
            for below in FEATURES[feature]:
                visit(below, (*path, feature))
            seen.add(feature)
            order.append(feature)

    for feature in FEATURES:
        visit(feature)
    assert len(order) == len(FEATURES)


@pytest.mark.parametrize(("edge", "other"), [("webhooks", "api"), ("api", "webhooks")])
def test_the_edges_never_import_each_other(edge, other):
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files_of(edge)
        for module in imported_modules(path)
        if module.split(".")[0] == other
    ]
    assert offences == []


def test_no_service_module_imports_flask_or_answers_an_http_status():
    offences = []
    for path in files_of("services"):
        source = path.read_text()
        modules = {m.split(".")[0] for m in imported_modules(path)}
        if modules & {"flask", "werkzeug"}:
            offences.append(f"{path.relative_to(ROOT)} imports Flask")
        for word in ("http_status", "status_code", "return 201", "return 200"):
            if word in source:
                offences.append(f"{path.relative_to(ROOT)} mentions {word}")
    assert offences == []
