"""`python -m traveltide_assets.cli`: the same as the `traveltide` console script."""

from traveltide_assets.cli.main import entry

entry()
