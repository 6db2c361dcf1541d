"""The version of ladle-prefect, read from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ladle-prefect")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
