"""Import of the authors' network files (Payne-Che / the 2022 ASTRA integration).

Their NPZ holds ``w_array_0..2`` (torch ``(out, in)`` layout), ``b_array_0..2``,
``x_min``, ``x_max``, ``wave`` (air wavelengths [Å]) and optionally a pickled ``grid``
dict of per-label ``[min, max]``. Labels are, in order, T_eff, log(g), v*sin(i), v_micro,
[M/H], with collapsed ones (min == max in the grid) dropped from the network's inputs.

The import converts the wavelengths to vacuum and, because bundles emulate on a grid
uniform in ln λ, folds a linear resampling onto such a grid into the last layer (an
exact linear map of the network's output), once.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from zeta_payne.bundles.bundle import Bundle, save_bundle, sha256_file
from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS, LabelSpec, Manifest
from zeta_payne.exceptions import BundleError
from zeta_payne.model.emulator import EmulatorWeights
from zeta_payne.model.wavelength import air_to_vacuum

__all__ = ["LEGACY_LABELS", "import_legacy", "read_legacy"]

#: The authors' label order with our canonical names, units and fixed defaults.
LEGACY_LABELS: tuple[tuple[str, str, str], ...] = (
    ("T_eff", "teff", "K"),
    ("log(g)", "logg", "dex"),
    ("v*sin(i)", "v_sini", "km/s"),
    ("v_micro", "v_micro", "km/s"),
    ("[M/H]", "m_h", "dex"),
)


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only plain containers, numbers, strings and numpy arrays."""

    _allowed = {
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "float"),
        ("builtins", "int"),
        ("builtins", "str"),
        ("collections", "OrderedDict"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "float64"),
        ("numpy", "int64"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _read_grid(npz: Any) -> dict[str, Any] | None:
    if "grid" not in npz.files:
        return None
    # An object array: decode its raw pickle with the restricted unpickler, not np.load's.
    zf = npz.zip
    raw = zf.read("grid.npy")
    buf = io.BytesIO(raw)
    version = np.lib.format.read_magic(buf)
    if version == (1, 0):
        np.lib.format.read_array_header_1_0(buf)
    else:
        np.lib.format.read_array_header_2_0(buf)
    try:
        obj = _SafeUnpickler(buf).load()
    except Exception as exc:
        raise BundleError(f"cannot read the legacy 'grid' entry safely: {exc}") from exc
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.size == 1:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise BundleError("legacy 'grid' entry is not a dict")
    return obj


def read_legacy(path: str | os.PathLike) -> tuple[EmulatorWeights, np.ndarray, dict[str, Any] | None]:
    """Read an authors' network NPZ.

    Returns
    -------
    weights : EmulatorWeights
    wave_air : numpy.ndarray, shape (P,)
        Model wavelengths in air [Å].
    grid : dict or None
        The optional ``grid`` dict (label → [min, max]).
    """
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable NPZ ({exc})") from exc
    with npz:
        required = [f"{p}_array_{k}" for p in "wb" for k in range(3)] + ["x_min", "x_max", "wave"]
        missing = [k for k in required if k not in npz.files]
        if missing:
            raise BundleError(f"{path}: not an authors' network file, missing {missing}")
        arrays = {k: np.asarray(npz[k]) for k in required}
        grid = _read_grid(npz)
    try:
        weights = EmulatorWeights.from_arrays(arrays)
    except ValueError as exc:
        raise BundleError(f"{path}: inconsistent network arrays ({exc})") from exc
    wave = np.asarray(arrays["wave"], dtype=float).ravel()
    if wave.size != weights.n_pixels:
        raise BundleError(f"{path}: {wave.size} wavelengths but {weights.n_pixels} network outputs")
    return weights, wave, grid


def _label_specs(
    weights: EmulatorWeights, grid: dict[str, Any] | None, names: list[str] | None
) -> tuple[LabelSpec, ...]:
    n = weights.n_labels
    if names is None:
        if grid is not None:
            names = [
                canon
                for legacy, canon, _ in LEGACY_LABELS
                if legacy in grid and float(np.ptp(np.asarray(grid[legacy], dtype=float))) > 0
            ]
        elif n == 5:
            names = [c for _, c, _ in LEGACY_LABELS]
        elif n == 4:
            names = ["teff", "logg", "v_sini", "m_h"]  # v_micro collapsed: the authors' default
        else:
            raise BundleError(f"cannot tell which {n} labels the network takes; pass the label names")
    if len(names) != n:
        raise BundleError(f"network takes {n} labels but {len(names)} names were given: {names}")
    units = {c: u for _, c, u in LEGACY_LABELS}
    specs = []
    for i, name in enumerate(names):
        lo, hi = float(weights.x_min[i]), float(weights.x_max[i])
        fixed = name == "v_micro"
        specs.append(
            LabelSpec(
                name,
                units.get(name, ""),
                lo,
                hi,
                lo,
                hi,
                free=not fixed,
                value=float(np.clip(2.0, lo, hi)) if fixed else None,
            )
        )
    return tuple(specs)


def import_legacy(
    path: str | os.PathLike,
    out: str | os.PathLike,
    instrument: str,
    name: str | None = None,
    version: str = "1.0.0",
    label_names: list[str] | None = None,
    n_pixels: int | None = None,
) -> Bundle:
    """Convert an authors' network NPZ into a bundle folder.

    Parameters
    ----------
    path : path-like
        The authors' NPZ.
    out : path-like
        Bundle folder to write.
    instrument : str
        ``"boss"`` or ``"apogee"`` (sets the fit defaults).
    name, version : str
        Bundle identification (name defaults to ``legacy-<instrument>-<file stem>``).
    label_names : list of str, optional
        Canonical names of the network inputs when the file does not say.
    n_pixels : int, optional
        Pixels of the ln λ-uniform grid (default: as many as the original grid).
    """
    weights, wave_air, grid = read_legacy(path)
    specs = _label_specs(weights, grid, label_names)
    wave_vac = air_to_vacuum(wave_air)
    if np.any(np.diff(wave_vac) <= 0):
        raise BundleError(f"{path}: wavelengths are not strictly increasing")
    n_out = int(n_pixels or wave_vac.size)
    loglam = np.linspace(np.log(wave_vac[0]), np.log(wave_vac[-1]), n_out)
    # linear interpolation matrix from the original grid onto the ln λ grid, folded into W2, b2
    x = np.log(wave_vac)
    idx = np.clip(np.searchsorted(x, loglam, side="right") - 1, 0, x.size - 2)
    t = (loglam - x[idx]) / (x[idx + 1] - x[idx])
    w2, b2 = weights.weights[2].astype(np.float64), weights.biases[2].astype(np.float64)
    new_w2 = (1 - t)[:, None] * w2[idx] + t[:, None] * w2[idx + 1]
    new_b2 = (1 - t) * b2[idx] + t * b2[idx + 1]
    new = EmulatorWeights(
        weights=(weights.weights[0], weights.weights[1], new_w2.astype(np.float32)),
        biases=(weights.biases[0], weights.biases[1], new_b2.astype(np.float32)),
        x_min=weights.x_min,
        x_max=weights.x_max,
    )
    if instrument not in INSTRUMENT_DEFAULTS:
        raise BundleError(f"unknown instrument {instrument!r}; expected one of {sorted(INSTRUMENT_DEFAULTS)}")
    manifest = Manifest(
        name=name or f"legacy-{instrument}-{Path(path).stem}",
        version=version,
        instrument=instrument,
        labels=specs,
        wavelength={
            "medium": "vacuum",
            "loglam0": float(loglam[0]),
            "delta": float(loglam[1] - loglam[0]),
            "n_pixels": n_out,
            "resolution": None,
        },
        network={"n_hidden": new.n_hidden},
        fit_defaults={
            **INSTRUMENT_DEFAULTS[instrument],
            "n_chebyshev": 15,
            "presearch_points": 4000,
            "rv_range": [-50.0, 50.0],
        },
        provenance={
            "kind": "legacy-import",
            "source_file": os.path.basename(os.fspath(path)),
            "source_sha256": sha256_file(path),
            "source_medium": "air",
            "source_pixels": int(wave_air.size),
            "source_wavelength": [float(wave_air[0]), float(wave_air[-1])],
            "grid": {k: [float(v) for v in np.ravel(val)] for k, val in (grid or {}).items()},
            "note": "authors' network (Payne-Che / ASTRA 2022 format), air→vacuum, "
            "resampled linearly to a ln λ grid",
        },
    )
    return save_bundle(out, manifest, new, overwrite=True)
