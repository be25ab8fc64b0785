"""Finding bundles by name: the shipped ones under ``data/bundles`` and user folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from zeta_payne.exceptions import BundleError

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle

__all__ = ["SHIPPED_BUNDLE_DIR", "default_search_paths", "find_bundle", "list_bundles", "resolve_bundle_path"]

#: The repository's ``data/bundles`` (present in source and editable installs).
SHIPPED_BUNDLE_DIR: Path = Path(__file__).resolve().parents[3] / "data" / "bundles"

#: The default bundle for each instrument.
DEFAULT_BUNDLES: dict[str, str] = {"boss": "zeta-payne-boss", "apogee": "zeta-payne-apogee"}


def default_search_paths(environ: dict[str, str] | None = None) -> list[Path]:
    """Folders searched for bundles: ``$ZETA_PAYNE_BUNDLE_PATH`` entries, then the shipped ones."""
    env = os.environ if environ is None else environ
    paths = [Path(p) for p in env.get("ZETA_PAYNE_BUNDLE_PATH", "").split(os.pathsep) if p]
    return [*paths, SHIPPED_BUNDLE_DIR]


def _candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p.parent for p in folder.glob("*/manifest.json"))


def list_bundles(search_paths: Sequence[Path] | None = None) -> list[Path]:
    """Every bundle folder found in the search paths."""
    out: list[Path] = []
    for folder in search_paths or default_search_paths():
        out.extend(_candidates(Path(folder)))
    return out


def resolve_bundle_path(spec: str | os.PathLike, search_paths: Sequence[Path] | None = None) -> Path:
    """Turn a path, a bundle folder name, or an instrument name into a bundle folder.

    ``spec`` may be a folder path; a folder name inside a search path (``zeta-payne-boss``);
    ``name@version``; or an instrument (``boss``/``apogee``) for its default bundle. When
    several versions of a name exist, the newest (by version string) is taken.
    """
    path = Path(spec)
    if (path / "manifest.json").is_file():
        return path
    text = os.fspath(spec)
    text = DEFAULT_BUNDLES.get(text, text)
    name, _, version = text.partition("@")
    import json

    matches = []
    for folder in list_bundles(search_paths):
        if folder.name == text:
            return folder
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("name") == name and (not version or str(manifest.get("version")) == version):
            matches.append((str(manifest.get("version")), folder))
    if not matches:
        raise BundleError(
            f"no bundle {text!r} found (searched: "
            f"{', '.join(map(str, search_paths or default_search_paths()))})"
        )
    return max(matches, key=lambda item: _version_key(item[0]))[1]


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Bundle:
    from zeta_payne.bundles.bundle import load_bundle  # the network (torch) only when loading

    return load_bundle(path)


def find_bundle(spec: str | os.PathLike, search_paths: Sequence[Path] | None = None) -> Bundle:
    """Load (once per process, hash-verified) the bundle named by ``spec``."""
    path = resolve_bundle_path(spec, search_paths).resolve()
    return _load_cached(str(path), (path / "manifest.json").stat().st_mtime)
