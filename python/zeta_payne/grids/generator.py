"""Spectrum generators: labels → rest-frame normalised spectra on a ln λ model grid.

A generator is what training sets and simulation studies draw "true" spectra from:
:class:`GridGenerator` interpolates a node grid in (teff, logg, m_h), adds the v_micro
response when it has one (:mod:`~zeta_payne.grids.vmicro`) and applies rotation (the physics
the bundles are trained on); :class:`EmulatorGenerator` evaluates a bundle's network
(self-consistency tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle
    from zeta_payne.grids.nodes import NodeGrid
    from zeta_payne.grids.vmicro import VMicroResponse

__all__ = ["EmulatorGenerator", "GridGenerator", "SpectrumGenerator"]


class SpectrumGenerator(Protocol):
    """What a generator provides."""

    #: Label names of the ``labels`` columns accepted by :meth:`__call__`.
    label_names: tuple[str, ...]
    #: Rest-frame vacuum wavelengths [Å], uniform in ln λ, shape (P,).
    wavelength: np.ndarray
    #: Resolving power of the spectra (``None``: unresolved).
    resolution: float | None

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """Spectra ``(M, P)`` for labels ``(M, L)``."""
        ...


class GridGenerator:
    """Node-grid interpolation in (teff, logg, m_h), the v_micro response, rotation.

    Parameters
    ----------
    grid : zeta_payne.grids.nodes.NodeGrid
        Node spectra (vacuum, uniform ln λ, at the grid's R_model).
    label_names : sequence of str
        Columns of the labels passed in; must contain teff, logg, m_h and v_sini. Without a
        ``response``, a v_micro column is ignored (it must equal the grid's, usually
        2 km/s); with one, it must be present.
    resolution : float or None
        R_model of the node spectra.
    epsilon : float
        Linear limb-darkening coefficient of the rotation profile.
    instrument : str, optional
        Instrument section of the grid manifest to take R_model from.
    response : zeta_payne.grids.vmicro.VMicroResponse, optional
        The v_micro response of ``grid``: spectra at (teff, logg, m_h, v_micro) are the
        grid's interpolation plus the response, before rotation.
    missing : {"raise", "nan"}
        Labels in a cell the grid cannot interpolate (a node missing): raise
        :class:`~zeta_payne.exceptions.GridError`, or return a row of NaN.
    continuum : zeta_payne.grids.nodes.NodeGrid, optional
        The jump factor J of ``grid``'s nodes (:mod:`~zeta_payne.grids.continuum`, made by
        ``zeta-payne grid continuum``), on the same wavelengths: the rotated spectra are
        multiplied by J interpolated at (teff, logg, m_h), so they carry the Balmer and
        Paschen jumps of a flux-calibrated spectrum (J is not rotated: a jump is far wider
        than a rotation kernel).
    """

    def __init__(
        self,
        grid: NodeGrid,
        label_names: Sequence[str] = ("teff", "logg", "v_sini", "m_h"),
        resolution: float | None = None,
        epsilon: float = 0.6,
        instrument: str | None = None,
        response: VMicroResponse | None = None,
        missing: str = "raise",
        continuum: NodeGrid | None = None,
    ) -> None:
        self.grid = grid
        self.continuum = continuum
        self.label_names = tuple(label_names)
        self.response = response
        self.missing = missing
        needed = {"teff", "logg", "m_h", "v_sini"} | ({"v_micro"} if response is not None else set())
        absent = needed - set(self.label_names)
        if absent:
            raise ValueError(f"GridGenerator needs labels {sorted(absent)}")
        if getattr(grid, "medium", "vacuum") != "vacuum":
            raise ValueError("node grids must be in vacuum")
        self.wavelength = np.asarray(grid.wavelength, dtype=float)
        if resolution is None:
            resolution = _manifest_resolution(grid.manifest, instrument)
        self.resolution = resolution
        self.epsilon = epsilon
        self._cols = [self.label_names.index(n) for n in ("teff", "logg", "m_h")]
        self._vsini = self.label_names.index("v_sini")
        if response is not None:
            if response.wavelength.shape != self.wavelength.shape or not np.allclose(
                response.wavelength, self.wavelength, rtol=1e-9
            ):
                raise ValueError("the v_micro response is on another wavelength grid than the grid")
            self._vmic_cols = [*self._cols, self.label_names.index("v_micro")]
        if continuum is not None and (
            continuum.wavelength.shape != self.wavelength.shape
            or not np.allclose(continuum.wavelength, self.wavelength, rtol=1e-9)
        ):
            raise ValueError("the continuum jump factor is on another wavelength grid than the grid")

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """Rest-frame spectra, shape (M, P), for labels of shape (M, L) in ``label_names`` order."""
        from zeta_payne.grids.rotation import rotate

        lab = np.atleast_2d(np.asarray(labels, dtype=float))
        flux = self.grid.interpolate(lab[:, self._cols], missing=self.missing)
        if self.response is not None:
            flux = flux + self.response(lab[:, self._vmic_cols])
        flux = rotate(self.wavelength, flux, np.clip(lab[:, self._vsini], 0.0, None), self.epsilon)
        if self.continuum is not None:
            flux = flux * self.continuum.interpolate(lab[:, self._cols], missing=self.missing)
        return flux


def _manifest_resolution(manifest: dict | None, instrument: str | None) -> float | None:
    if not manifest:
        return None
    instruments = manifest.get("instruments") or {}
    if instrument in instruments and "R_model" in instruments[instrument]:
        return float(instruments[instrument]["R_model"])
    for key in ("resolution", "R_model", "r_model"):
        if key in manifest:
            return float(manifest[key])
    wl = manifest.get("wavelength") or {}
    return float(wl["resolution"]) if "resolution" in wl else None


class EmulatorGenerator:
    """A bundle's network as a generator (labels in the bundle's input order)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.label_names = bundle.manifest.label_names
        self.wavelength = bundle.grid.wavelength
        self.resolution = bundle.grid.resolution
        self._emulator = bundle.emulator()

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.atleast_2d(labels), dtype=torch.float64)
            return self._emulator(x).double().numpy()
