"""The project's files outside the package (sql/, deploy/dagster.yaml): found in the source checkout, and carried by
the wheel where project_file looks for them when there is no checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from traveltide_assets import project_files
from traveltide_assets.project_files import CHECKOUT_DIR, PACKAGE_DIR, packaged_name, project_file
from traveltide_assets.sql_files import sql_dir
from traveltide_assets.storage.instance import default_config

PROJECT_FILES = ("sql", "deploy/dagster.yaml")


def test_the_wheel_carries_each_project_file_where_project_file_looks() -> None:
    wheel = tomllib.loads((CHECKOUT_DIR / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == [PACKAGE_DIR.name]
    assert wheel["force-include"] == {name: f"{PACKAGE_DIR.name}/{packaged_name(name)}" for name in PROJECT_FILES}


def test_a_checkout_reads_its_own_files() -> None:
    assert sql_dir() == CHECKOUT_DIR / "sql"
    assert default_config() == CHECKOUT_DIR / "deploy" / "dagster.yaml"


def test_without_a_checkout_the_packaged_copy_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "traveltide_assets"
    (package / packaged_name("deploy")).mkdir(parents=True)
    (package / packaged_name("deploy/dagster.yaml")).write_text("storage: {}\n")
    monkeypatch.setattr(project_files, "PACKAGE_DIR", package)
    monkeypatch.setattr(project_files, "CHECKOUT_DIR", package.parent)
    assert project_file("deploy/dagster.yaml") == package / "_deploy" / "dagster.yaml"


def test_a_missing_file_names_both_places_it_looked() -> None:
    with pytest.raises(FileNotFoundError) as raised:
        project_file("deploy/missing.yaml")
    message = str(raised.value)
    assert str(CHECKOUT_DIR / "deploy" / "missing.yaml") in message
    assert str(PACKAGE_DIR / "_deploy" / "missing.yaml") in message
