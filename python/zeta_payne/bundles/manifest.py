"""The bundle manifest: schema, validation, label specifications."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from zeta_payne.exceptions import BundleError

__all__ = ["SCHEMA_VERSION", "LabelSpec", "Manifest", "INSTRUMENT_COVERAGE", "INSTRUMENT_DEFAULTS"]

#: Version of the manifest schema written by this package.
SCHEMA_VERSION: int = 1

#: Fit defaults per instrument (paper §3.3 / the authors' ASTRA integration).
INSTRUMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "boss": {"wavelength_range": [4500.0, 10170.0], "resolution": 2000.0},
    "apogee": {"wavelength_range": [15000.0, 17000.0], "resolution": 22500.0},
}

#: What each instrument records [Å, vacuum]: the widest range a bundle trained on a grid that
#: covers it fits by default (BOSS: the paper's simulation range 3,600–10,400 Å, which the
#: v3 grids cover; the v2 grids start at 4,400 Å and their bundles fit from 4,500 Å).
INSTRUMENT_COVERAGE: dict[str, tuple[float, float]] = {
    "boss": (3600.0, 10400.0),
    "apogee": (15000.0, 17000.0),
}


@dataclass(frozen=True)
class LabelSpec:
    """One emulator input label.

    Attributes
    ----------
    name : str
        Canonical name (``teff``, ``logg``, ``v_sini``, ``m_h``, ``v_micro``).
    unit : str
        Unit (``K``, ``dex``, ``km/s``).
    lower, upper : float
        Fit bounds (the training box).
    x_min, x_max : float
        Network scaling box (label → [−0.5, 0.5]).
    free : bool
        Fitted by default; otherwise held at ``value``.
    value : float or None
        The fixed value for labels that are not free.
    """

    name: str
    unit: str
    lower: float
    upper: float
    x_min: float
    x_max: float
    free: bool = True
    value: float | None = None

    def __post_init__(self) -> None:
        if not self.upper > self.lower:
            raise BundleError(f"label {self.name!r}: upper bound must exceed lower bound")
        if not self.free and self.value is None:
            raise BundleError(f"label {self.name!r} is fixed but has no value")


@dataclass(frozen=True)
class Manifest:
    """Everything about a bundle except the weights.

    Attributes
    ----------
    name, version : str
        Identification (``version`` is a string such as ``"1.0.0"``).
    instrument : str
        ``"boss"`` or ``"apogee"`` (or another name for bring-your-own bundles).
    labels : tuple of LabelSpec
        The network's inputs, in input order.
    wavelength : dict
        ``{"medium": "vacuum", "loglam0": float, "delta": float, "n_pixels": int,
        "resolution": float | None}`` — the uniform ln λ model grid.
    network : dict
        Architecture: ``{"architecture": "mlp", "n_hidden": int, "activation": "leaky_relu",
        "negative_slope": 0.01, "n_layers": 3}``.
    fit_defaults : dict
        Default fit options (``wavelength_range``, ``resolution``, ``n_chebyshev`` ...).
    provenance : dict
        Grid, training configuration, validation score, creation date, software versions.
    payloads : dict
        ``{file name: sha256 hex digest}`` of every payload file.
    schema_version : int
        Manifest schema version.
    """

    name: str
    version: str
    instrument: str
    labels: tuple[LabelSpec, ...]
    wavelength: dict[str, Any]
    network: dict[str, Any]
    fit_defaults: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    payloads: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def label_names(self) -> tuple[str, ...]:
        """Label names in network input order."""
        return tuple(spec.name for spec in self.labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        out = asdict(self)
        out["labels"] = [asdict(spec) for spec in self.labels]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Validate and build from the JSON form (raises :class:`BundleError`)."""
        if not isinstance(data, dict):
            raise BundleError("manifest is not a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BundleError(
                f"unsupported bundle schema_version {version!r} (this package reads {SCHEMA_VERSION})"
            )
        required = ("name", "version", "instrument", "labels", "wavelength", "network", "payloads")
        missing = [key for key in required if key not in data]
        if missing:
            raise BundleError(f"manifest lacks required keys: {', '.join(missing)}")
        try:
            labels = tuple(LabelSpec(**spec) for spec in data["labels"])
        except TypeError as exc:
            raise BundleError(f"malformed label specification: {exc}") from exc
        names = [spec.name for spec in labels]
        if len(set(names)) != len(names) or not names:
            raise BundleError("label names must be unique and non-empty")
        wl = data["wavelength"]
        for key in ("medium", "loglam0", "delta", "n_pixels"):
            if key not in wl:
                raise BundleError(f"manifest wavelength lacks {key!r}")
        if wl["medium"] != "vacuum":
            raise BundleError("bundle model wavelengths must be stored in vacuum")
        if not (float(wl["delta"]) > 0 and int(wl["n_pixels"]) > 1):
            raise BundleError("bundle wavelength grid must have delta > 0 and n_pixels > 1")
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            instrument=str(data["instrument"]),
            labels=labels,
            wavelength=dict(wl),
            network=dict(data["network"]),
            fit_defaults=dict(data.get("fit_defaults", {})),
            provenance=dict(data.get("provenance", {})),
            payloads=dict(data["payloads"]),
            schema_version=int(version),
        )
