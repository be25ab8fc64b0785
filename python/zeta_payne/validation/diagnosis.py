"""Controlled tests of the real-star systematics: refit stars with one change at a time.

Each *variant* changes one thing of the fit — the fitted wavelength range, the response's
number of Chebyshev terms, the LSF, a label held at its reference value, the pixels used
(by the line depth of an F-star template) — and the same stars
are refitted. The paired shift of a label (variant minus the default fit, star by star) says
how much that thing moves the label; a cause of a systematic offset is a change that removes
it, and a change that leaves it is ruled out.

Run::

    python -m zeta_payne.validation.diagnosis --teff-range 6000 7500 --limit 60 \\
        -o docs/validation/diagnosis/real-f
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VARIANTS", "fit_variants", "paired_summary"]

log = logging.getLogger(__name__)

#: Variants: option overrides of the fit; ``fix_reference`` holds labels at the star's
#: reference values.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "range 4400-5500 A": {"wavelength_range": (4400.0, 5500.0)},
    "range 5500-7400 A": {"wavelength_range": (5500.0, 7400.0)},
    "range 4400-4950 A (no Mg b)": {"wavelength_range": (4400.0, 4950.0)},
    "Chebyshev 6 terms": {"n_chebyshev": 6},
    "Chebyshev 25 terms": {"n_chebyshev": 25},
    "LSF R 1600": {"resolution": 1600.0},
    "LSF R 2600": {"resolution": 2600.0},
    "teff fixed at reference": {"fix_reference": ("teff",)},
    "logg fixed at reference": {"fix_reference": ("logg",)},
    "teff+logg fixed at reference": {"fix_reference": ("teff", "logg")},
    # Pixels chosen by the line depth of an F-star template (R 2,000): the strong lines, whose
    # cores form in the outer layers where 1D LTE is least reliable, against the weak ones.
    "strong-line pixels masked (depth > 0.10)": {"mask_depth": (0.0, 0.10)},
    "weak-line pixels only (depth < 0.04)": {"mask_depth": (0.0, 0.04)},
    "strong-line pixels only (depth > 0.10)": {"mask_depth": (0.10, 1.0)},
    # The Balmer lines (±100 Å around Hβ, ±80 Å around Hα, vacuum): teff from the metal lines.
    "Balmer lines masked": {"mask_windows": ((4762.0, 4962.0), (6485.0, 6645.0))},
    "[M/H] fixed at reference": {"fix_reference": ("m_h",)},
    # The spectrum's own LSF (wresl) scaled: MILES's effective FWHM fitted on six solar twins
    # by direct syntheses is 2.6-2.8 Å against the nominal 2.5 Å (direct-synthesis/).
    "LSF wresl x 1.1": {"lsf_scale": 1.1},
}

#: Labels of the template whose line depths select pixels (``mask_depth`` variants): a
#: mid-F dwarf, v sin i 0, seen at R 2,000.
TEMPLATE = {"teff": 6500.0, "logg": 4.2, "v_sini": 0.0, "m_h": 0.0, "v_micro": 2.0}
TEMPLATE_RESOLUTION = 2000.0


def template_depth(bundle: Any, resolution: float = TEMPLATE_RESOLUTION) -> tuple[np.ndarray, np.ndarray]:
    """Line depth of the :data:`TEMPLATE` star, emulated by ``bundle`` and seen at ``resolution``.

    Returns
    -------
    wavelength : numpy.ndarray, shape (P,)
        The bundle's model wavelengths [Å, vacuum].
    depth : numpy.ndarray, shape (P,)
        1 − normalised flux after a Gaussian LSF that takes the model from its own
        resolution to ``resolution``.
    """
    from scipy.ndimage import gaussian_filter1d

    from zeta_payne.grids.generator import EmulatorGenerator

    gen = EmulatorGenerator(bundle)
    labels = np.array([[TEMPLATE[n] for n in gen.label_names]])
    flux = gen(labels)[0]
    wave = np.asarray(gen.wavelength, dtype=float)
    step = float(np.median(np.diff(np.log(wave))))
    own = 1.0 / gen.resolution if gen.resolution else 0.0
    sigma_ln = np.sqrt(max((1.0 / resolution) ** 2 - own**2, 0.0)) / 2.3548
    return wave, 1.0 - gaussian_filter1d(flux, sigma_ln / step, mode="nearest")


def _residual_on_grid(spectrum: Any, result: Any, grid: np.ndarray) -> np.ndarray:
    """data/model − 1 of one fit, in the star's rest frame, interpolated onto ``grid`` [Å]."""
    wave = np.asarray(spectrum.wavelength) / (1.0 + result.v_rad / 299_792.458)
    model = np.asarray(result.model_flux, dtype=float)
    ok = (np.asarray(spectrum.ivar) > 0) & np.isfinite(model) & (model > 0)
    if spectrum.pixel_mask is not None:
        ok &= ~np.asarray(spectrum.pixel_mask)
    if ok.sum() < 2:
        return np.full(grid.size, np.nan)
    r = np.asarray(spectrum.flux)[ok] / model[ok] - 1.0
    out = np.interp(grid, wave[ok], r, left=np.nan, right=np.nan)
    # no values across gaps wider than 3 pixels of the data
    gap = np.interp(grid, wave[ok][1:], np.diff(wave[ok]), left=np.inf, right=np.inf)
    out[gap > 3 * np.median(np.diff(wave[ok]))] = np.nan
    return out


def plot_residuals(
    grid: np.ndarray, residuals: Mapping[str, Sequence[np.ndarray]], path: Path, title: str
) -> None:
    """Median (over stars) of data/model − 1 per variant, against wavelength, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(residuals)
    fig, axes = plt.subplots(len(names), 1, figsize=(14, 2.2 * len(names)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        stack = np.array(residuals[name])
        ax.plot(grid, np.nanmedian(stack, axis=0), lw=0.6)
        ax.axhline(0.0, color="k", lw=0.3)
        ax.set_ylim(-0.05, 0.05)
        ax.set_ylabel("data/model − 1", fontsize=8)
        ax.set_title(f"{name} (median of {len(stack)} stars)", fontsize=9)
    axes[-1, 0].set_xlabel("rest wavelength [Å, vacuum]")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def _masked_windows(spectrum: Any, windows: Sequence[tuple[float, float]]) -> Any:
    """A copy of ``spectrum`` with the pixels inside any of ``windows`` [Å, vacuum] masked."""
    wave = np.asarray(spectrum.wavelength)
    drop = np.zeros(wave.size, bool)
    for lo, hi in windows:
        drop |= (wave >= lo) & (wave <= hi)
    return _with_mask(spectrum, drop)


def _masked(spectrum: Any, template: tuple[np.ndarray, np.ndarray], keep: tuple[float, float]) -> Any:
    """A copy of ``spectrum`` with pixels whose template depth is outside ``keep`` masked."""
    wave, depth = template
    d = np.interp(spectrum.wavelength, wave, depth, left=np.nan, right=np.nan)
    return _with_mask(spectrum, ~((d >= keep[0]) & (d <= keep[1])))


def _with_mask(spectrum: Any, drop: np.ndarray) -> Any:
    """A copy of ``spectrum`` with the pixels ``drop`` masked as well."""
    old = np.zeros(drop.size, bool) if spectrum.pixel_mask is None else np.asarray(spectrum.pixel_mask)
    return dataclasses.replace(spectrum, pixel_mask=old | drop)

LABELS = ("teff", "logg", "v_sini", "m_h", "v_rad")
REFERENCE = {"teff": "teff_ref", "logg": "logg_ref", "m_h": "m_h_ref", "v_rad": "v_rad_ref"}


def fit_variants(
    stars: Sequence[Any],
    bundle: Any,
    variants: Mapping[str, Mapping[str, Any]],
    residuals: dict[str, list[np.ndarray]] | None = None,
    residual_grid: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Fit every star under every variant.

    Parameters
    ----------
    stars : sequence of RealStar
        Spectra with reference labels (:func:`~zeta_payne.validation.realstars.load_sample`).
    bundle : Bundle
    variants : mapping
        ``{name: overrides}`` (see :data:`VARIANTS`).
    residuals : dict, optional
        Filled with ``{variant: [data/model − 1 of each star on residual_grid]}`` (rest frame
        of the fit; NaN outside the star's usable pixels).
    residual_grid : numpy.ndarray, shape (G,), optional
        Wavelengths [Å, vacuum] for ``residuals``.

    Returns
    -------
    list of dict
        One row per star and variant: fitted labels, reference labels, offsets, flags.
    """
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import merge_options

    rows = []
    shared: dict[tuple[str, str], Any] = {}
    template = None
    for name, spec in variants.items():
        overrides = {
            k: v for k, v in spec.items()
            if k not in ("fix_reference", "mask_depth", "mask_windows", "lsf_scale")
        }
        keep = spec.get("mask_depth")
        windows = spec.get("mask_windows")
        if keep is not None and template is None:
            template = template_depth(bundle)
        fixed_names = tuple(spec.get("fix_reference", ()))
        for star in stars:
            ref = star.reference
            frame = star.spectrum.frame or "observed"
            if fixed_names:
                fixed = {n: float(ref[REFERENCE[n]]) for n in fixed_names}
                fitter = Fitter(
                    bundle, merge_options(bundle.manifest.fit_defaults, {**overrides, "fixed": fixed}, frame)
                )
            else:
                key = (name, frame)
                if key not in shared:
                    shared[key] = Fitter(
                        bundle, merge_options(bundle.manifest.fit_defaults, overrides, frame)
                    )
                fitter = shared[key]
            t0 = time.perf_counter()
            spectrum = star.spectrum if keep is None else _masked(star.spectrum, template, keep)
            if windows is not None:
                spectrum = _masked_windows(spectrum, windows)
            if spec.get("lsf_scale") and spectrum.lsf_fwhm is not None:
                spectrum = dataclasses.replace(
                    spectrum, lsf_fwhm=np.asarray(spectrum.lsf_fwhm) * float(spec["lsf_scale"])
                )
            result = fitter.fit(spectrum)
            row: dict[str, Any] = {"variant": name, "star": star.name, "library": ref.get("library", "")}
            for label in LABELS:
                row[label] = result.label(label) if label != "v_rad" else result.v_rad
                if label in REFERENCE:
                    row[f"{label}_ref"] = float(ref[REFERENCE[label]])
                    row[f"d_{label}"] = row[label] - row[f"{label}_ref"]
            row.update(
                rchi2=result.rchi2,
                result_flags=int(result.flags),
                flag_bad=result.flag_bad,
                seconds=round(time.perf_counter() - t0, 2),
            )
            rows.append(row)
            if residuals is not None and residual_grid is not None and result.model_flux is not None:
                residuals.setdefault(name, []).append(
                    _residual_on_grid(spectrum, result, residual_grid)
                )
        log.info("variant %s: %d stars", name, len(stars))
    return rows


def paired_summary(rows: Sequence[Mapping[str, Any]], base: str = "default") -> list[dict[str, Any]]:
    """Per variant: median offsets from the references and median paired shifts from ``base``.

    Only stars whose fit is not flagged bad in both the variant and the base enter a
    variant's statistics.

    Returns
    -------
    list of dict
        ``variant, n, d_<label>`` (median offset from the reference) and ``shift_<label>``
        (median of variant − base, star by star) for teff, logg, m_h, v_rad; ``rchi2``.
    """
    by_variant: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        by_variant.setdefault(str(r["variant"]), {})[str(r["star"])] = r
    reference = by_variant.get(base, {})
    out = []
    for name, stars in by_variant.items():
        common = [
            s for s in stars if s in reference and not stars[s]["flag_bad"] and not reference[s]["flag_bad"]
        ]
        entry: dict[str, Any] = {"variant": name, "n": len(common)}
        for label in ("teff", "logg", "m_h", "v_rad"):
            d = np.array([float(stars[s][f"d_{label}"]) for s in common])
            shift = np.array([float(stars[s][label]) - float(reference[s][label]) for s in common])
            entry[f"d_{label}"] = float(np.nanmedian(d)) if d.size else float("nan")
            entry[f"shift_{label}"] = float(np.nanmedian(shift)) if shift.size else float("nan")
        entry["rchi2"] = (
            float(np.nanmedian([float(stars[s]["rchi2"]) for s in common])) if common else float("nan")
        )
        out.append(entry)
    return out


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _markdown(summary: Sequence[Mapping[str, Any]], title: str, command: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        "Median offset from the reference label (`d_`) and median paired shift from the default "
        "fit (`shift_`, the same stars, variant − default) among fits not flagged bad in both.",
        "",
        "| variant | n | d teff [K] | d logg | d [M/H] | d RV [km/s] | shift teff | shift logg | "
        "shift [M/H] | shift RV | rχ² |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        lines.append(
            f"| {e['variant']} | {e['n']} | {e['d_teff']:+.0f} | {e['d_logg']:+.2f} | {e['d_m_h']:+.2f} | "
            f"{e['d_v_rad']:+.1f} | {e['shift_teff']:+.0f} | {e['shift_logg']:+.2f} | "
            f"{e['shift_m_h']:+.2f} | {e['shift_v_rad']:+.1f} | {e['rchi2']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: refit a real-star subset under :data:`VARIANTS`."""
    import shlex
    import sys

    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.registry import resolve_bundle_path
    from zeta_payne.threads import pin_threads
    from zeta_payne.validation.realstars import load_sample

    parser = argparse.ArgumentParser(prog="python -m zeta_payne.validation.diagnosis", description=__doc__)
    parser.add_argument("--bundle", default="boss")
    parser.add_argument("--sample", default="data/real")
    parser.add_argument("--teff-range", nargs=2, type=float, default=(6000.0, 7500.0), metavar=("MIN", "MAX"))
    parser.add_argument("--limit", type=int, default=60, help="about this many stars (every k-th)")
    parser.add_argument("--variant", action="append", default=None, help="only these variants (repeat)")
    parser.add_argument(
        "--residuals",
        action="store_true",
        help="also plot each variant's median data/model − 1 against wavelength (residuals.png)",
    )
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    pin_threads(1)
    bundle = load_bundle(resolve_bundle_path(args.bundle))
    stars = [
        s
        for s in load_sample(args.sample)
        if str(s.reference.get("in_box")) == "1"
        and args.teff_range[0] <= s.reference["teff_ref"] < args.teff_range[1]
    ]
    step = max(1, len(stars) // max(args.limit, 1))
    stars = stars[::step]
    chosen = {k: v for k, v in VARIANTS.items() if not args.variant or k in args.variant or k == "default"}
    grid = np.arange(4460.0, 10200.0, 1.0) if args.residuals else None
    residuals: dict[str, list[np.ndarray]] = {}
    rows = fit_variants(stars, bundle, chosen, residuals, grid)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if grid is not None and residuals:
        keep = np.isfinite(np.nanmedian(np.array(residuals["default"]), axis=0))
        last = grid[keep][-1] if keep.any() else grid[-1]
        sel = grid <= last
        plot_residuals(grid[sel], {k: [r[sel] for r in v] for k, v in residuals.items()},
                       out / "residuals.png", f"{bundle.name}@{bundle.version}")
    _write_csv(out / "fits.csv", rows)
    summary = paired_summary(rows)
    _write_csv(out / "summary.csv", summary)
    lo, hi = args.teff_range
    title = (
        f"Controlled refits: {len(stars)} in-box stars of {args.sample} with reference teff "
        f"{lo:.0f}-{hi:.0f} K, bundle {bundle.name}@{bundle.version}"
    )
    command = "python -m zeta_payne.validation.diagnosis " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    (out / "summary.md").write_text(_markdown(summary, title, command))
    print((out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
