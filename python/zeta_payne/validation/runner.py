"""Run a simulation study: draw test labels, simulate observations, fit them in parallel."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zeta_payne.environment import package_versions
from zeta_payne.fitting.options import FitOptions
from zeta_payne.fitting.presearch import sobol_unit
from zeta_payne.fitting.region import below_logg_floor

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle
    from zeta_payne.grids.nodes import NodeGrid
    from zeta_payne.validation.observe import ObservationModel

__all__ = [
    "TRUTH_LABELS",
    "GeneratorSpec",
    "StudyResult",
    "coarsen",
    "provenance_grid",
    "provenance_vmicro_grids",
    "provenance_continuum_grid",
    "truth_continuum_grid",
    "run_study",
    "test_labels",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratorSpec:
    """How a worker builds the generator of true spectra.

    ``kind`` is "emulator" (the bundle's own network), "grid" (node grid at ``path``
    interpolated + rotated) or "synthesis" (stored syntheses at ``path``, a synthesis-truth
    folder, rotated; :mod:`zeta_payne.validation.truth`).
    """

    kind: str = "grid"
    path: str | None = None
    instrument: str | None = None
    max_level: int | None = None
    #: grid generator: interpolation stencil per axis (teff, logg, m_h); None is multilinear
    points: tuple[int, int, int] | None = None
    #: grid generator: folders of the v_micro response grids (v_micro then varies the truth)
    vmicro_grids: tuple[str, ...] = ()
    vmicro_taper: float | None = None
    #: the continuum jump-factor grid multiplied into the truth (``zeta-payne grid continuum``):
    #: for "grid", the bundle's training one; for "synthesis", the truth set's own
    continuum_grid: str | None = None


#: What each generator's true spectra are, as the reports name them.
TRUTH_LABELS = {
    "synthesis": "synthesis truth",
    "grid": "interpolant (emulator-only view)",
    "emulator": "the bundle's own network (self-consistency)",
}


def provenance_grid(bundle: Bundle) -> Path | None:
    """The node grid a bundle was trained on, as a folder that exists here.

    The trainer records the grid path it was given, usually relative to the directory it
    ran in (``data/grids/…``). That path is tried as it stands, then relative to each
    folder above the bundle's, so a checkout's shipped bundles find their grids from any
    working directory.

    Returns
    -------
    pathlib.Path or None
        None if the bundle names no grid or the grid is not found.
    """
    return _find_grid(bundle, bundle.manifest.provenance.get("grid_path"))


def provenance_vmicro_grids(bundle: Bundle) -> tuple[Path, ...] | None:
    """The v_micro response grids a bundle was trained with, as folders that exist here.

    Found as :func:`provenance_grid` finds the main grid.

    Returns
    -------
    tuple of pathlib.Path or None
        Empty if the bundle was trained without a v_micro response; None if one of its
        grids is not found.
    """
    recorded = (bundle.manifest.provenance.get("training") or {}).get("vmicro_grids") or ()
    found = tuple(_find_grid(bundle, r) for r in recorded)
    return None if any(f is None for f in found) else found


def provenance_continuum_grid(bundle: Bundle) -> Path | None:
    """The continuum jump-factor grid a bundle was trained with, as a folder that exists here.

    Returns
    -------
    pathlib.Path or None
        None if the bundle was trained without one or it is not found here.
    """
    recorded = (bundle.manifest.provenance.get("training") or {}).get("continuum_grid")
    return _find_grid(bundle, recorded)


def truth_continuum_grid(truth: str | Path) -> Path | None:
    """The truth set's own continuum jump-factor grid (``<truth>-continuum`` beside it), if made."""
    path = Path(truth)
    path = path.with_name(path.name + "-continuum")
    return path if (path / "manifest.json").is_file() else None


def _find_grid(bundle, recorded: str | None) -> Path | None:
    """A grid folder the trainer recorded (relative to where it ran), as it exists here."""
    if not recorded:
        return None
    recorded = Path(recorded)
    candidates = [recorded]
    if not recorded.is_absolute() and bundle.path:
        candidates += [parent / recorded for parent in Path(bundle.path).resolve().parents]
    for candidate in candidates:
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def coarsen(grid: NodeGrid, level: int) -> NodeGrid:
    """The node grid restricted to its refinement levels ``0..level`` (a coarser node spacing).

    Used for the *model-mismatch* study: a bundle trained on the full grid is tested on
    spectra interpolated from a coarser lattice, whose interpolation errors are physics the
    bundle never saw.
    """
    from zeta_payne.grids.nodes import NodeGrid

    levels = grid.levels[: level + 1]
    axes = levels[-1]
    keep = np.all([np.isin(np.round(grid.labels[:, i], 6), np.round(axes[i], 6)) for i in range(3)], axis=0)
    return NodeGrid(
        labels=grid.labels[keep],
        wavelength=grid.wavelength,
        flux=grid.flux[keep],
        manifest=grid.manifest,
        medium=grid.medium,
        levels=list(levels),
    )


@dataclass
class StudyResult:
    """Per-spectrum results of one instrument and S/N."""

    instrument: str
    snr: float
    label_names: tuple[str, ...]
    true_labels: np.ndarray  # (M, L)
    true_rv: np.ndarray  # (M,)
    labels: np.ndarray  # (M, L)
    e_labels: np.ndarray
    cov_e_labels: np.ndarray
    v_rad: np.ndarray
    e_v_rad: np.ndarray
    rchi2: np.ndarray
    flags: np.ndarray
    seconds: np.ndarray
    fit_seconds: np.ndarray | None = None  # (M,) the fit alone (seconds: simulation included)
    chi2_fit: np.ndarray | None = None  # (M,) χ² at the fitted labels, response solved linearly
    chi2_true: np.ndarray | None = None  # (M,) the same at the true labels and RV
    raw_e_labels: np.ndarray | None = None  # (M, L) χ²-parabola errors (e_labels: reported)
    cov_e_v_rad: np.ndarray | None = None  # (M,) covariance error of the RV
    edge_chi2: np.ndarray | None = None  # (M, L) FitResult.edge_chi2 (NaN unless at an edge)
    wall_seconds: float = 0.0
    meta: dict = field(default_factory=dict)
    #: Per-spectrum facts of the simulated cases, each shape (M,): ``truth_point``,
    #: ``truth_kind`` (synthesis truth), ``ebv``, ``airmass``, ``lsf_scale`` (realistic
    #: observations).
    cases: dict[str, np.ndarray] = field(default_factory=dict)

    def deltas(self, free: Sequence[str]) -> dict[str, np.ndarray]:
        """Δθ per free label and RV."""
        out = {
            n: self.labels[:, self.label_names.index(n)] - self.true_labels[:, self.label_names.index(n)]
            for n in free
        }
        out["v_rad"] = self.v_rad - self.true_rv
        return out


def test_labels(
    bundle: Bundle,
    n: int,
    seed: int,
    rv_range: tuple[float, float] = (-50.0, 50.0),
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sobol test points over the bundle's trained box (free labels), fixed labels at their values.

    The scrambling seed is offset from the training seeds, so the points never coincide
    with a training point. Points below the bundle's log g floor (``fit_defaults.logg_floor``:
    cells of the box without training spectra, where its grid has no model atmospheres) are
    skipped, the sequence continued until ``n`` remain; a bundle without a floor gets the
    first ``n`` points of the sequence, as before. ``keep`` (labels (M, L) → bool (M,)) skips
    more points the same way (e.g. where a node grid cannot interpolate).

    Returns
    -------
    labels : numpy.ndarray, shape (n, L)
    rv : numpy.ndarray, shape (n,)
    """
    specs = bundle.labels
    names = [s.name for s in specs]
    free = [i for i, s in enumerate(specs) if s.free]
    floor = (bundle.manifest.fit_defaults or {}).get("logg_floor") or ()
    centre = [s.value if s.value is not None else 0.5 * (s.lower + s.upper) for s in specs]
    size = n
    while True:
        unit = sobol_unit(len(free) + 1, size, 10_000 + seed)
        labels = np.array([centre] * size, dtype=float)
        for k, i in enumerate(free):
            labels[:, i] = specs[i].lower + unit[:, k] * (specs[i].upper - specs[i].lower)
        ok = np.ones(size, bool)
        if floor and {"teff", "logg"} <= set(names):
            ok = ~below_logg_floor(labels[:, names.index("teff")], labels[:, names.index("logg")], floor)
        if keep is not None:
            ok &= keep(labels)
        if ok.sum() >= n or size > 64 * n:
            break
        size *= 2
    kept = np.flatnonzero(ok)[:n]
    if kept.size and kept[-1] + 1 > kept.size:
        log.info("%d test points skipped: untrained or not interpolable", kept[-1] + 1 - kept.size)
    labels, unit = labels[kept], unit[kept]
    rv = rv_range[0] + unit[:, -1] * (rv_range[1] - rv_range[0])
    return labels, rv


def pin_truth_labels(
    labels: np.ndarray, label_names: Sequence[str], truth_fixed: Mapping[str, float] | None
) -> np.ndarray:
    """Test labels with the ones the truth spectra cannot vary set to the truth's values.

    A node grid or truth set is synthesized at one v_micro (its manifest's
    ``fixed_labels``); a bundle that fits v_micro (v3) must be tested against that value,
    not a drawn one the true spectrum does not have.

    Parameters
    ----------
    labels : numpy.ndarray, shape (n, L)
        In ``label_names`` order.
    label_names : sequence of str
    truth_fixed : mapping, optional
        The truth grid's ``fixed_labels`` (rotation, ``v_sini``, is applied by the generators
        and is not pinned).

    Returns
    -------
    numpy.ndarray, shape (n, L)
    """
    out = np.array(labels, dtype=float, copy=True)
    for name, value in (truth_fixed or {}).items():
        if name != "v_sini" and name in label_names:
            out[:, list(label_names).index(name)] = float(value)
    return out


def training_overlap(bundle: Bundle, labels: np.ndarray) -> dict | None:
    """How close the test points come to the bundle's training points.

    Distances are measured in the network's scaled box (each label mapped to a unit range),
    over the labels of ``training_labels.npy`` that the bundle ships.

    Returns
    -------
    dict or None
        ``coincident`` (test points within 1e-9 of a training point), ``min_distance`` and
        ``median_distance`` to the nearest training point; None if the bundle has no
        training labels.
    """
    from scipy.spatial import cKDTree

    path = Path(bundle.path) / "training_labels.npy" if bundle.path else None
    if path is None or not path.is_file():
        return None
    train = np.load(path, allow_pickle=False)
    if train.ndim != 2 or train.shape[1] != labels.shape[1]:
        return None
    lo = np.array([s.x_min for s in bundle.labels])
    span = np.array([s.x_max - s.x_min for s in bundle.labels])
    dist, _ = cKDTree((train - lo) / span).query((labels - lo) / span)
    return {
        "n_training": int(len(train)),
        "coincident": int((dist < 1e-9).sum()),
        "min_distance": float(dist.min()),
        "median_distance": float(np.median(dist)),
    }


def hardware() -> dict:
    """The machine a study runs on (:func:`zeta_payne.environment.machine`: CPU model, torch's
    vector instructions, cores) and the 1-minute load average now."""
    from zeta_payne.environment import machine

    return {**machine(), "load": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- worker side
_STATE: dict = {}


def _init_worker(
    bundle_path: str,
    spec: GeneratorSpec,
    options: FitOptions,
    watch_parent: bool = False,
    observation=None,
) -> None:
    from zeta_payne.threads import exit_with_parent, pin_threads

    pin_threads(1)
    if watch_parent:
        exit_with_parent()
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.grids.generator import EmulatorGenerator, GridGenerator

    bundle = load_bundle(bundle_path)
    if spec.kind == "emulator":
        generator = EmulatorGenerator(bundle)
    elif spec.kind == "grid":
        from zeta_payne.grids.nodes import load_node_grid

        instrument = spec.instrument or bundle.instrument
        grid = load_node_grid(spec.path, instrument)
        response = None
        if spec.vmicro_grids:
            from zeta_payne.grids.vmicro import load_vmicro_response

            response = load_vmicro_response(grid, spec.vmicro_grids, instrument, spec.vmicro_taper)
        if spec.max_level is not None:
            grid = coarsen(grid, spec.max_level)
        if spec.points is not None:
            grid.points = spec.points
        continuum = None
        if spec.continuum_grid:
            continuum = load_node_grid(spec.continuum_grid, instrument)
            if spec.points is not None:
                continuum.points = spec.points
        generator = GridGenerator(grid, bundle.manifest.label_names, instrument=instrument,
                                  response=response, continuum=continuum)
    elif spec.kind == "synthesis":
        from zeta_payne.grids.nodes import load_node_grid
        from zeta_payne.validation.truth import SynthesisGenerator

        instrument = spec.instrument or bundle.instrument
        grid = load_node_grid(spec.path, instrument)
        r_model = grid.manifest["instruments"][instrument].get("R_model")
        continuum = load_node_grid(spec.continuum_grid, instrument) if spec.continuum_grid else None
        generator = SynthesisGenerator(grid, bundle.manifest.label_names, resolution=r_model,
                                       continuum=continuum)
    else:
        raise ValueError(f"unknown generator kind {spec.kind!r}")
    _STATE.update(bundle=bundle, fitter=Fitter(bundle, options), generator=generator, observation=observation)


def _simulate(task: tuple[int, np.ndarray, float, float, int, str]):
    """The observed spectrum of one case and its recorded observing facts."""
    from zeta_payne.validation.simulate import observe

    index, labels, rv, snr, seed, instrument = task
    gen = _STATE["generator"]
    observation = _STATE.get("observation")
    rng = np.random.default_rng(seed)
    flux = gen(labels[None, :])[0]
    if observation is None:
        spectrum, _ = observe(gen.wavelength, flux, gen.resolution, instrument, rv, snr, rng)
        return spectrum, {}
    from zeta_payne.validation.observe import realistic_spectrum

    teff = float(labels[list(gen.label_names).index("teff")])
    spectrum, truth = realistic_spectrum(
        gen.wavelength, flux, gen.resolution, instrument, teff, rv, snr, rng, observation
    )
    return spectrum, {k: truth[k] for k in ("ebv", "airmass", "lsf_scale")}


def _row(task, spectrum, result, fit_seconds: float) -> dict:
    index, labels, rv, *_ = task
    fitter = _STATE["fitter"]
    return {
        "fit_seconds": fit_seconds,
        "chi2_fit": fitter.chi2_at(spectrum, result.labels, result.v_rad),
        "chi2_true": fitter.chi2_at(spectrum, labels, rv),
        "labels": result.labels,
        "e": result.e_labels,
        "cov_e": result.cov_e_labels,
        "raw_e": result.raw_e_labels,
        "edge_chi2": result.edge_chi2,
        "v_rad": result.v_rad,
        "e_v_rad": result.e_v_rad,
        "cov_e_v_rad": result.cov_e_v_rad,
        "rchi2": result.rchi2,
        "flags": result.flags,
    }


def _failed_row(labels: np.ndarray) -> dict:
    nan = np.full(labels.size, np.nan)
    return {
        "fit_seconds": np.nan, "chi2_fit": np.nan, "chi2_true": np.nan, "labels": nan, "e": nan,
        "cov_e": nan, "raw_e": nan, "edge_chi2": nan, "v_rad": np.nan, "e_v_rad": np.nan,
        "cov_e_v_rad": np.nan, "rchi2": np.nan, "flags": 1,
    }


Task = tuple[int, np.ndarray, float, float, int, str]


def _work_batch(tasks: list[Task], batched: bool = True) -> list[dict]:
    """Simulate a batch of cases, fit them together (the production batched fitter), diagnose.

    A case whose simulation or fit raises is a failed row (flags 1), never a crash; the fit
    time of a batched fit is the batch's time shared equally by its members.
    """
    t0 = time.perf_counter()
    simulated: list = []
    rows: dict[int, dict] = {}
    for k, task in enumerate(tasks):
        try:
            simulated.append((k, *_simulate(task)))
        except Exception as exc:  # a failed simulation is a failed row, never a crash
            log.warning("spectrum %d failed: %s", task[0], exc)
            rows[k] = {**_failed_row(task[1]), "case": {}}
    fitter = _STATE["fitter"]
    t_fit = time.perf_counter()
    try:
        results = fitter.fit_batch([sp for _, sp, _ in simulated], batched=batched)
    except Exception as exc:
        log.warning("batch of %d failed (%s): fitted one at a time", len(simulated), exc)
        results = []
        for _, sp, _ in simulated:
            try:
                results.append(fitter.fit(sp))
            except Exception as one:
                log.warning("fit failed: %s", one)
                results.append(None)
    share = (time.perf_counter() - t_fit) / max(len(simulated), 1)
    for (k, spectrum, case), result in zip(simulated, results, strict=True):
        try:
            if result is None:
                raise RuntimeError("no fit result")
            rows[k] = {**_row(tasks[k], spectrum, result, share), "case": case}
        except Exception as exc:
            log.warning("spectrum %d failed: %s", tasks[k][0], exc)
            rows[k] = {**_failed_row(tasks[k][1]), "case": case}
    seconds = (time.perf_counter() - t0) / max(len(tasks), 1)
    out = []
    for k, task in enumerate(tasks):
        row = rows[k]
        row["index"] = task[0]
        row["seconds"] = seconds
        out.append(row)
    return out


def run_study(
    bundle_path: str,
    instrument: str,
    snr: float | None,
    labels: np.ndarray,
    rv: np.ndarray,
    spec: GeneratorSpec,
    options: FitOptions,
    processes: int = 2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    observation: ObservationModel | None = None,
    cases: dict[str, np.ndarray] | None = None,
    batch_size: int = 16,
) -> StudyResult:
    """Simulate and fit every test point; ``processes`` workers, one core each.

    ``batch_size`` cases are simulated and fitted together by the batched fitter, the path
    ``zeta-payne fit`` and the ASTRA tasks take (``1``: each case alone by the per-spectrum
    fitter, the reference path).

    ``observation`` (a :class:`~zeta_payne.validation.observe.ObservationModel`) selects the
    realistic observations; ``None`` the idealised ones of the paper's study
    (:func:`~zeta_payne.validation.simulate.observe`). ``cases`` are per-spectrum facts
    recorded with the results (e.g. the truth point of each case).
    """
    from zeta_payne.bundles.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    snr_value = float("inf") if snr is None else float(snr)
    tasks = [
        (i, labels[i], float(rv[i]), snr_value, seed * 1_000_003 + i, instrument) for i in range(len(rv))
    ]
    rows: list[dict] = []
    machine = hardware()
    t0 = time.perf_counter()
    batches = [tasks[i:i + batch_size] for i in range(0, len(tasks), max(batch_size, 1))]
    if processes <= 1:
        _init_worker(bundle_path, spec, options, False, observation)
        for batch in batches:
            rows.extend(_work_batch(batch, batched=batch_size > 1))
            if progress:
                progress(len(rows), len(tasks))
    else:
        import multiprocessing as mp

        from zeta_payne.threads import child_environment

        ctx = mp.get_context("spawn")
        with (
            child_environment(1),
            ProcessPoolExecutor(
                processes,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(bundle_path, spec, options, True, observation),
            ) as pool,
        ):
            for done in pool.map(_work_batch, batches, [batch_size > 1] * len(batches)):
                rows.extend(done)
                if progress:
                    progress(len(rows), len(tasks))
    wall = time.perf_counter() - t0
    rows.sort(key=lambda r: r["index"])
    recorded = {k: np.asarray(v) for k, v in (cases or {}).items()}
    for name in sorted({k for r in rows for k in r["case"]}):
        recorded[name] = np.array([r["case"].get(name, np.nan) for r in rows], dtype=float)
    return StudyResult(
        instrument=instrument,
        snr=snr_value,
        label_names=bundle.manifest.label_names,
        true_labels=np.asarray(labels, dtype=float),
        true_rv=np.asarray(rv, dtype=float),
        labels=np.array([r["labels"] for r in rows]),
        e_labels=np.array([r["e"] for r in rows]),
        cov_e_labels=np.array([r["cov_e"] for r in rows]),
        v_rad=np.array([r["v_rad"] for r in rows]),
        e_v_rad=np.array([r["e_v_rad"] for r in rows]),
        rchi2=np.array([r["rchi2"] for r in rows]),
        flags=np.array([r["flags"] for r in rows], dtype=np.int64),
        seconds=np.array([r["seconds"] for r in rows]),
        fit_seconds=np.array([r["fit_seconds"] for r in rows]),
        chi2_fit=np.array([r["chi2_fit"] for r in rows]),
        chi2_true=np.array([r["chi2_true"] for r in rows]),
        raw_e_labels=np.array([r["raw_e"] for r in rows]),
        edge_chi2=np.array([r["edge_chi2"] for r in rows]),
        cov_e_v_rad=np.array([r["cov_e_v_rad"] for r in rows]),
        wall_seconds=wall,
        cases=recorded,
        meta={
            "bundle": bundle.describe(),
            "generator": spec.__dict__,
            "truth": TRUTH_LABELS.get(spec.kind, spec.kind),
            "observation": _describe(observation),
            "processes": processes,
            "batch_size": batch_size,
            "hardware": {**machine, "load_after": round(os.getloadavg()[0], 2)},
            "environment": package_versions(),
        },
    )


def _describe(observation) -> dict:
    """The observation model as recorded in a study's meta."""
    if observation is None:
        return {
            "kind": "idealised",
            "summary": "constant S/N, Chebyshev response c_k ~ N(0, 0.1/k), constant-R Gaussian LSF",
        }
    from dataclasses import asdict

    return {"kind": "realistic", **asdict(observation)}
