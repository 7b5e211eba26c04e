"""The `traveltide` command line (main.py builds the parser; the commands live beside it)."""

from traveltide_assets.cli.main import entry, main

__all__ = ["entry", "main"]
