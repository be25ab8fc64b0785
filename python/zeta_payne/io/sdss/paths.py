"""Where SDSS data products live: the SAS tree of ``sdss-tree``, with a local default.

Paths may hold environment variables (``$MWM_ASTRA/...``, ``$SAS_BASE_DIR/...``) as ASTRA
stores them. :func:`expand_path` resolves them from the process environment first, then
from the variables ``sdss-tree`` derives for the tree version ``$TREE_VER`` (default
``sdsswork``) under ``$SAS_BASE_DIR`` (default ``~/sas``, sdss-tree's own default).
Nothing is read or created at import time.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from functools import lru_cache

__all__ = [
    "DEFAULT_SAS_BASE_DIR",
    "expand_path",
    "mwm_path",
    "sdss_environment",
    "sdss_id_groups",
]

log = logging.getLogger(__name__)

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")

#: The SAS root when ``$SAS_BASE_DIR`` is not set (sdss-tree's default).
DEFAULT_SAS_BASE_DIR: str = "~/sas"


@lru_cache(maxsize=4)
def _tree_relative(config: str) -> tuple[tuple[str, str], ...]:
    """sdss-tree's variables for ``config`` as paths relative to the SAS root.

    sdss-tree writes to ``os.environ`` and creates its root folder; both are contained here
    (a throwaway root, the environment restored).
    """
    saved = dict(os.environ)
    root = tempfile.mkdtemp(prefix="zeta-payne-tree-")
    try:
        os.environ["SAS_BASE_DIR"] = root
        from tree import Tree

        values = Tree(config=config).to_dict()
    except Exception as exc:  # sdss-tree missing or broken: only the process environment is used
        log.warning("sdss-tree unavailable (%s); using the process environment only", exc)
        values = {}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)
    out = []
    for key, value in values.items():
        if isinstance(value, str) and value.startswith(root):
            out.append((key, os.path.relpath(value, root)))
    return tuple(out)


def sdss_environment(
    sas_base_dir: str | None = None, config: str | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The SDSS tree variables (``MWM_ASTRA``, ``APOGEE_REDUX``, ``BOSS_SPECTRO_REDUX`` ...).

    Parameters
    ----------
    sas_base_dir : str, optional
        SAS root (default ``$SAS_BASE_DIR`` or :data:`DEFAULT_SAS_BASE_DIR`).
    config : str, optional
        sdss-tree configuration (default ``$TREE_VER`` or ``sdsswork``).
    environ : mapping, optional
        The environment to read defaults from (default ``os.environ``).
    """
    env = os.environ if environ is None else environ
    base = os.path.expanduser(sas_base_dir or env.get("SAS_BASE_DIR") or DEFAULT_SAS_BASE_DIR)
    cfg = config or env.get("TREE_VER") or "sdsswork"
    values = {key: os.path.join(base, rel) for key, rel in _tree_relative(cfg)}
    values["SAS_BASE_DIR"] = base
    return values


def expand_path(path: str | os.PathLike, environ: Mapping[str, str] | None = None) -> str:
    """Expand ``~`` and ``$VARS`` (process environment first, then the SDSS tree).

    Variables that neither knows are left in place.
    """
    text = os.path.expanduser(os.fspath(path))
    if "$" not in text:
        return text
    env = dict(os.environ if environ is None else environ)
    merged = {**sdss_environment(environ=env), **env}

    def substitute(match: re.Match) -> str:
        key = match.group(1) or match.group(2)
        return merged.get(key, match.group(0))

    return _VARIABLE.sub(substitute, text)


def sdss_id_groups(sdss_id: int) -> str:
    """ASTRA's two-level folder for an SDSS ID (``…/12/34`` for ``1234``)."""
    n = f"{int(sdss_id):0>4d}"
    return f"{n[-4:-2]}/{n[-2:]}"


def mwm_path(filetype: str, v_astra: str, sdss_id: int) -> str:
    """The SAS path template of an mwmStar/mwmVisit file (with ``$MWM_ASTRA`` unexpanded)."""
    folder = {"mwmStar": "star", "mwmVisit": "visit"}[filetype]
    groups = sdss_id_groups(sdss_id)
    return f"$MWM_ASTRA/{v_astra}/spectra/{folder}/{groups}/{filetype}-{v_astra}-{sdss_id}.fits"
