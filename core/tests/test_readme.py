"""The README's configuration table documents every environment variable, in the order settings read them."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_documents_every_setting_variable_in_settings_order():
    settings_source = (ROOT / "core" / "settings.py").read_text()
    read_by_settings = re.findall(r'env_(?:str|bool|int|list)\("([A-Z_]+)"', settings_source)
    documented = re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), flags=re.MULTILINE)

    assert read_by_settings, "no env_* calls found: the pattern no longer matches settings.py"
    unique_in_order = list(dict.fromkeys(read_by_settings))
    assert documented == unique_in_order


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    assert any(line.startswith("make run") for line in head)
    assert any(line.startswith("make test") for line in head)
