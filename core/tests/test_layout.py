"""What may import what: production code never needs the developer tools (devtools/), and accounts
and teams_app share one Microsoft HTTP seam (core/microsoft.py) instead of importing each other."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_PACKAGES = ("core", "accounts", "tickets", "teams_app")


def python_files(package: str, *, with_tests: bool = False) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [path for path in files if with_tests or "tests" not in path.relative_to(ROOT).parts]


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement names, at the top or inside a function (lazy imports)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def imports_of(paths: list[Path], *packages: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}: {module}"
        for path in paths
        for module in sorted(imported_modules(path))
        if module.split(".")[0] in packages
    ]


def test_no_production_module_imports_devtools():
    production = [path for package in PRODUCTION_PACKAGES for path in python_files(package)]
    assert len(production) > 50, "the walk found too few modules: the layout changed"
    assert imports_of(production, "devtools") == []


def test_accounts_does_not_import_teams_app():
    assert imports_of(python_files("accounts", with_tests=True), "teams_app") == []


def test_the_microsoft_seam_imports_none_of_the_apps():
    assert imports_of([ROOT / "core" / "microsoft.py"], "accounts", "teams_app", "tickets", "devtools") == []


def test_the_import_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from devtools import demo_data\n    import teams_app.models\n")
    assert imported_modules(module) == {"devtools", "devtools.demo_data", "teams_app.models"}


def run_django(code: str, *, before_setup: str = "", **env: str) -> dict:
    """Run code after django.setup() in a fresh interpreter with core.settings and only the given
    variables of ours (plus a SECRET_KEY); it prints one line of JSON."""
    clean = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "TMPDIR"}}
    clean |= {
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "SECRET_KEY": "layout-test-only-key",
        # Production defaults, but nothing that would touch the real database or Redis.
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    answer = subprocess.run(
        [sys.executable, "-c", f"{before_setup}\nimport django\ndjango.setup()\n{code}"],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])


INSTALLED = "import json\nfrom django.conf import settings\nprint(json.dumps({'apps': settings.INSTALLED_APPS}))"


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        ({}, False),  # production: DEBUG off, DEVTOOLS unset
        ({"DEBUG": "1"}, True),  # `make run`
        ({"DEBUG": "1", "DEVTOOLS": "0"}, False),
        ({"DEVTOOLS": "1"}, True),  # the tests
        ({"DJANGO_SETTINGS_MODULE": "bench.settings"}, True),  # bench/run: production settings plus devtools
    ],
)
def test_devtools_is_installed_only_with_debug_or_devtools(env, installed):
    assert ("devtools" in run_django(INSTALLED, **env)["apps"]) is installed


IMPORT_EVERYTHING = """
import importlib
import json
import pkgutil
import sys

imported = []
for package in %r:
    for module in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if ".tests" not in module.name:
            importlib.import_module(module.name)
            imported.append(module.name)
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "devtools")
print(json.dumps({"imported": imported, "devtools": loaded}))
"""

BLOCK_DEVTOOLS = """
import sys


class BlockDevtools:
    def find_spec(self, name, path=None, target=None):
        if name == "devtools" or name.startswith("devtools."):
            raise ImportError(f"production code imported {name}")


sys.meta_path.insert(0, BlockDevtools())
"""


def test_every_production_module_imports_with_devtools_blocked():
    """Production settings, and an import of devtools fails: every module of the four apps (management
    commands and migrations included) still imports."""
    result = run_django(IMPORT_EVERYTHING % (PRODUCTION_PACKAGES,), before_setup=BLOCK_DEVTOOLS, DEBUG="0")

    assert {"core.microsoft", "core.wsgi", "tickets.management.commands.check_problem_tree"} <= set(result["imported"])
    assert result["devtools"] == []
