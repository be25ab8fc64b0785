"""Model bundles: an immutable folder with ``manifest.json`` and ``weights.npz``.

Loading checks the schema and the sha256 of every payload once; weights are read with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zeta_payne.bundles.manifest import LabelSpec, Manifest
from zeta_payne.exceptions import BundleError
from zeta_payne.model.emulator import Emulator, EmulatorWeights
from zeta_payne.model.forward import ModelGrid

if TYPE_CHECKING:
    from zeta_payne.fitting.calibration import ErrorCalibration

__all__ = ["Bundle", "load_bundle", "save_bundle", "sha256_file"]

MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "weights.npz"
CALIBRATION_NAME = "error_calibration.json"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified model bundle.

    Attributes
    ----------
    manifest : Manifest
        Labels, wavelength grid, defaults, provenance.
    weights : EmulatorWeights
        The network.
    path : pathlib.Path or None
        Where it was loaded from.
    sha256 : str
        Digest of the manifest file (which holds the payload digests): identifies the bundle.
    """

    manifest: Manifest
    weights: EmulatorWeights
    path: Path | None = None
    sha256: str = ""

    @property
    def name(self) -> str:
        """Bundle name."""
        return self.manifest.name

    @property
    def version(self) -> str:
        """Bundle version."""
        return self.manifest.version

    @property
    def instrument(self) -> str:
        """Instrument the bundle is made for."""
        return self.manifest.instrument

    @property
    def labels(self) -> tuple[LabelSpec, ...]:
        """Label specifications in network input order."""
        return self.manifest.labels

    @property
    def grid(self) -> ModelGrid:
        """The model wavelength grid."""
        wl = self.manifest.wavelength
        res = wl.get("resolution")
        return ModelGrid(
            float(wl["loglam0"]), float(wl["delta"]), int(wl["n_pixels"]), None if res is None else float(res)
        )

    @cached_property
    def _emulator(self) -> Emulator:
        return Emulator.from_weights(self.weights).requires_grad_(False)

    @cached_property
    def error_calibration(self) -> ErrorCalibration | None:
        """The bundle's error calibration (``error_calibration.json``), or None if it has none.

        Written by ``zeta-payne bundle calibrate`` (:mod:`zeta_payne.bundles.calibration`);
        the fitter reports ``e_*`` through it.
        """
        from zeta_payne.fitting.calibration import ErrorCalibration

        if CALIBRATION_NAME not in self.manifest.payloads or self.path is None:
            return None
        try:
            return ErrorCalibration.from_dict(json.loads((self.path / CALIBRATION_NAME).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"{self.path}: cannot read {CALIBRATION_NAME} ({exc})") from exc

    def emulator(self) -> Emulator:
        """The network as a float32 torch module on the CPU (shared; do not modify)."""
        return self._emulator

    def describe(self) -> dict[str, Any]:
        """A short summary for logs and the CLI."""
        grid = self.grid
        lam = grid.wavelength
        return {
            "name": self.name,
            "version": self.version,
            "instrument": self.instrument,
            "sha256": self.sha256,
            "labels": [s.name for s in self.labels],
            "free": [s.name for s in self.labels if s.free],
            "n_hidden": self.weights.n_hidden,
            "n_pixels": grid.n_pixels,
            "wavelength": [float(lam[0]), float(lam[-1])],
            "resolution": grid.resolution,
        }


def save_bundle(
    path: str | os.PathLike,
    manifest: Manifest,
    weights: EmulatorWeights,
    overwrite: bool = False,
    extra_files: dict[str, bytes] | None = None,
    storage_dtype: str = "float32",
) -> Bundle:
    """Write a bundle folder atomically (temporary folder, then rename) and return it loaded.

    Parameters
    ----------
    path : path-like
        Destination folder (must not exist unless ``overwrite``).
    manifest : Manifest
        Manifest; its ``payloads`` are filled in here.
    weights : EmulatorWeights
        The network (stored as float32, the output layer as ``storage_dtype``).
    overwrite : bool
        Replace an existing folder.
    extra_files : dict, optional
        ``{file name: content}`` written beside the weights (reports, plots); they become
        payloads with their own sha256 in the manifest.
    storage_dtype : {"float32", "float16"}
        Storage type of the output layer's weight matrix (P × H, nearly all of the file):
        float16 halves the bundle; it is read back as float32. Check the rounding error
        against the emulator's own error before shipping (the training report does).
    """
    if storage_dtype not in ("float32", "float16"):
        raise BundleError(f"storage_dtype must be float32 or float16, not {storage_dtype!r}")
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise BundleError(f"{dest} exists; bundles are immutable (use a new version)")
    if weights.n_labels != len(manifest.labels):
        raise BundleError("network input size does not match the manifest labels")
    if weights.n_pixels != int(manifest.wavelength["n_pixels"]):
        raise BundleError("network output size does not match the manifest wavelength grid")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        arrays = {
            k: (v.astype(np.float32) if k.startswith(("w_", "b_")) else v.astype(np.float64))
            for k, v in weights.as_arrays().items()
        }
        last = f"w_array_{len(weights.weights) - 1}"
        arrays[last] = arrays[last].astype(storage_dtype)
        np.savez(tmp / WEIGHTS_NAME, **arrays)
        network = {
            "architecture": "mlp",
            "activation": "leaky_relu",
            "negative_slope": 0.01,
            "n_layers": len(weights.weights),
            "n_hidden": weights.n_hidden,
            **manifest.network,
            "output_layer_dtype": storage_dtype,
        }
        payloads = {WEIGHTS_NAME: sha256_file(tmp / WEIGHTS_NAME)}
        for fname, content in (extra_files or {}).items():
            if "/" in fname or fname in (WEIGHTS_NAME, MANIFEST_NAME):
                raise BundleError(f"invalid extra file name {fname!r}")
            (tmp / fname).write_bytes(content)
            payloads[fname] = sha256_file(tmp / fname)
        final = replace(manifest, payloads=payloads, network=network)
        (tmp / MANIFEST_NAME).write_text(json.dumps(final.to_dict(), indent=2, sort_keys=False) + "\n")
        if dest.exists():
            import shutil

            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_bundle(dest)


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Load a bundle folder, verifying schema and payload hashes.

    Raises
    ------
    BundleError
        Missing files, bad JSON, unsupported schema, hash mismatch, or inconsistent shapes.
    """
    folder = Path(path)
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{folder} is not a bundle: no {MANIFEST_NAME}")
    raw = manifest_path.read_bytes()
    try:
        manifest = Manifest.from_dict(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_path}: invalid JSON ({exc})") from exc
    for name, digest in manifest.payloads.items():
        payload = folder / name
        if not payload.is_file():
            raise BundleError(f"{folder}: payload {name} is missing")
        actual = sha256_file(payload)
        if actual != digest:
            raise BundleError(f"{folder}: sha256 of {name} is {actual}, manifest says {digest}")
    if WEIGHTS_NAME not in manifest.payloads:
        raise BundleError(f"{folder}: manifest lists no {WEIGHTS_NAME}")
    try:
        with np.load(folder / WEIGHTS_NAME, allow_pickle=False) as npz:
            weights = EmulatorWeights.from_arrays({k: npz[k] for k in npz.files})
    except (ValueError, KeyError, OSError) as exc:
        raise BundleError(f"{folder}: cannot read weights ({exc})") from exc
    if weights.n_labels != len(manifest.labels):
        raise BundleError(
            f"{folder}: network takes {weights.n_labels} labels, manifest lists {len(manifest.labels)}"
        )
    if weights.n_pixels != int(manifest.wavelength["n_pixels"]):
        raise BundleError(
            f"{folder}: network has {weights.n_pixels} outputs, grid has {manifest.wavelength['n_pixels']}"
        )
    return Bundle(manifest=manifest, weights=weights, path=folder, sha256=hashlib.sha256(raw).hexdigest())
