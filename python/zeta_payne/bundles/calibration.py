"""Store an error calibration with a bundle (a new bundle version, written atomically)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from zeta_payne.bundles.bundle import CALIBRATION_NAME, MANIFEST_NAME, Bundle, load_bundle, sha256_file
from zeta_payne.exceptions import BundleError
from zeta_payne.fitting.calibration import ErrorCalibration

__all__ = ["next_patch_version", "same_fits", "write_bundle_revision", "write_calibrated_bundle"]


def next_patch_version(version: str) -> str:
    """``"2.1.0"`` → ``"2.1.1"`` (a version that is not ``X.Y.Z`` gets ``".1"`` appended)."""
    parts = version.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}"
    return f"{version}.1"


def same_fits(bundle: Bundle, fitted_with: dict) -> bool:
    """Whether fits made with the bundle described by ``fitted_with`` are ``bundle``'s fits.

    True for ``bundle`` itself (the same manifest sha256) and for an earlier version of it that
    differs only by its error calibration (``same_fits_as`` of
    :func:`write_calibrated_bundle`: the same network and fit defaults).

    Parameters
    ----------
    bundle : Bundle
    fitted_with : dict
        A study's record of its bundle (``name``, ``version``, ``sha256``).
    """
    earlier = bundle.manifest.provenance.get("error_calibration") or {}
    versions = {bundle.version, *earlier.get("same_fits_as", []), earlier.get("calibrated_from_version")}
    return fitted_with.get("sha256") == bundle.sha256 or (
        fitted_with.get("name") == bundle.name and fitted_with.get("version") in versions - {None}
    )


def write_calibrated_bundle(
    bundle: Bundle,
    calibration: ErrorCalibration,
    output: str | os.PathLike | None = None,
    version: str | None = None,
) -> Bundle:
    """Write ``bundle`` with ``calibration`` as ``error_calibration.json``, a new version.

    Every other payload is copied unchanged (the network's weights keep their sha256); the
    manifest gets the new payload's digest, the new version and a summary of the
    calibration under ``provenance["error_calibration"]`` (:func:`write_bundle_revision`),
    with ``same_fits_as``: every earlier version that differs from the new one only by its
    error calibration (a study fitted with any of them measures this version exactly).

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle (its folder is read).
    calibration : ErrorCalibration
        The error models to store.
    output : path-like, optional
        Destination folder; default: the bundle's own folder, replaced.
    version : str, optional
        The new version; default: the next patch version.

    Returns
    -------
    Bundle
        The new bundle, loaded (hashes verified).
    """
    provenance = dict(bundle.manifest.provenance)
    earlier = dict(provenance.get("error_calibration") or {})
    lineage = [*earlier.get("same_fits_as", []), earlier.get("calibrated_from_version"), bundle.version]
    provenance["error_calibration"] = {
        "file": CALIBRATION_NAME,
        "calibrated_from_version": bundle.version,
        "same_fits_as": list(dict.fromkeys(v for v in lineage if v)),
        **{k: v for k, v in calibration.provenance.items() if k in ("truth", "observations", "snr")},
    }
    content = (json.dumps(calibration.to_dict(), indent=2) + "\n").encode()
    return write_bundle_revision(bundle, {CALIBRATION_NAME: content}, provenance, output, version)


def write_bundle_revision(
    bundle: Bundle,
    files: dict[str, bytes],
    provenance: dict,
    output: str | os.PathLike | None = None,
    version: str | None = None,
    fit_defaults: dict | None = None,
    drop: tuple[str, ...] = (),
) -> Bundle:
    """Write ``bundle`` as a new version with some payloads replaced or added.

    The payloads not in ``files`` are copied unchanged (the network's weights keep their
    sha256), files beside the payloads travel too, and the manifest gets the payloads'
    digests, the new version and ``provenance``. The folder is written beside the
    destination and renamed into place, so a crash leaves the old bundle intact.

    Parameters
    ----------
    bundle : Bundle
        A loaded bundle (its folder is read).
    files : dict of str to bytes
        Payloads to write (file name → content).
    provenance : dict
        The new version's provenance (whole, not a patch).
    output : path-like, optional
        Destination folder; default: the bundle's own folder, replaced.
    version : str, optional
        The new version; default: the next patch version.
    fit_defaults : dict, optional
        The new version's fit defaults (whole); default: unchanged.
    drop : tuple of str
        Payloads (and files beside them) the new version leaves out.

    Returns
    -------
    Bundle
        The new bundle, loaded (hashes verified).
    """
    if bundle.path is None:
        raise BundleError("the bundle was not loaded from a folder")
    source = Path(bundle.path)
    dest = Path(output) if output is not None else source
    if dest.exists() and dest.resolve() != source.resolve():
        raise BundleError(f"{dest} exists; choose a new folder for the new bundle version")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        payloads = {}
        for name in bundle.manifest.payloads:
            if name in files or name in drop:
                continue
            shutil.copy2(source / name, tmp / name)
            payloads[name] = sha256_file(tmp / name)
        for name, content in files.items():
            (tmp / name).write_bytes(content)
            payloads[name] = sha256_file(tmp / name)
        manifest = replace(
            bundle.manifest,
            version=version or next_patch_version(bundle.version),
            payloads=payloads,
            provenance=provenance,
            **({} if fit_defaults is None else {"fit_defaults": fit_defaults}),
        )
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")
        for extra in source.iterdir():  # files beside the payloads (README, plots) travel too
            if extra.is_file() and extra.name not in drop and not (tmp / extra.name).exists():
                shutil.copy2(extra, tmp / extra.name)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_bundle(dest)
