"""Files of the project that live beside the package in a source checkout and inside it in an installed wheel.

A checkout has them at the top level (`sql/`, `deploy/dagster.yaml`); a wheel carries each inside the package
under the same path with a leading underscore (`_sql/`, `_deploy/dagster.yaml`: pyproject.toml's
[tool.hatch.build.targets.wheel.force-include]).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def packaged_name(checkout_path: str) -> str:
    """Where a wheel carries `checkout_path`, relative to the package: 'deploy/x.yaml' -> '_deploy/x.yaml'."""
    return f"_{checkout_path}"


def project_file(checkout_path: str) -> Path:
    """The project's file or folder `checkout_path` ('sql', 'deploy/dagster.yaml'): from the source checkout if it
    is there, else from the installed wheel. FileNotFoundError names both places looked in."""
    candidates = (CHECKOUT_DIR / checkout_path, PACKAGE_DIR / packaged_name(checkout_path))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"the project's {checkout_path} is missing: looked in {candidates[0]} (a source checkout) and "
        f"{candidates[1]} (an installed wheel)"
    )
