"""ASTRA's configuration file and its ``database`` section.

An operator's existing ``astra.yml`` works unchanged: it is found at ``$ASTRA_CONFIG_PATH``,
else at the first existing of ``~/.config/sdss/astra.yml``, ``~/.config/sdss/astra/astra.yml``
and ``~/.astra/astra.yml`` (sdsstools' search order), and read for the keys ASTRA reads::

    TESTING: false            # true: in-memory SQLite
    database:
      dbname: sdss5db         # PostgreSQL (preferred) ...
      user: astra             # optional: user, host, password, port, schema
      host: operations.sdss.org
      schema: astra_080
      path: ~/astra.sqlite    # ... or SQLite
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["config_paths", "read_astra_config"]

_SEARCH = ("~/.config/sdss/astra.yml", "~/.config/sdss/astra/astra.yml", "~/.astra/astra.yml")


def config_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where the config file is looked for, in order."""
    env = os.environ if environ is None else environ
    paths = [Path(env["ASTRA_CONFIG_PATH"]).expanduser()] if env.get("ASTRA_CONFIG_PATH") else []
    return paths + [Path(p).expanduser() for p in _SEARCH]


def read_astra_config(
    path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ASTRA configuration (``{}`` when there is no file).

    Parameters
    ----------
    path : path-like, optional
        Read this file instead of searching.
    environ : mapping, optional
        Environment to read ``ASTRA_CONFIG_PATH`` from (default ``os.environ``).
    """
    candidates = [Path(path).expanduser()] if path is not None else config_paths(environ)
    for candidate in candidates:
        if candidate.is_file():
            with open(candidate) as fh:
                data = yaml.safe_load(fh) or {}
            if not isinstance(data, dict):
                raise ValueError(f"{candidate}: expected a mapping at the top level")
            return data
    return {}
