"""Print a retrained bundle's release figures beside the shipped bundle's (Markdown).

Used by ``data/bundles/release_v3.sh`` (step ``compare``); reads only what the release cycle
writes — the bundles' held-out summaries and the validation folders in the layout of
``docs/validation/v3`` — and runs no fit::

    python data/bundles/compare_release.py --instrument boss \\
        --shipped data/bundles/zeta-payne-boss --shipped-docs docs/validation/v3 \\
        --candidate scratch/bundles-v3d/zeta-payne-boss --candidate-docs scratch/release-boss

Figures (each the one the docs quote for the issue's targets): emulator p95 per teff region
against the v3 synthesis truth and interpolation / emulator (median and p95) at the truth
points and the midpoint probes; Table 3 RMS per label and the all-label reliability at S/N
inf / 100 / 50; calibration-check cells within 0.8-1.25 (fresh seeds pooled, else seed 13);
out-of-box and in-box rates with any BAD bit (S/N 50, true v sin i scored); for BOSS the
real-star offsets per teff bin.
A figure whose files are missing shows as "—".
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from zeta_payne.environment import differences

LABELS = ("teff", "logg", "v_sini", "m_h", "v_rad")
SNRS = ("inf", "100", "50")


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def holdout(bundle: Path, grid_name: str) -> dict[str, dict[str, float]]:
    """Per teff region: emulator p95 and interpolation/emulator (median, p95) of one held-out grid."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    grids = manifest["provenance"].get("accuracy", {}).get("holdout_grids") or []
    out: dict[str, dict[str, float]] = {}
    for grid in grids:
        if Path(grid["grid"]).name != grid_name:
            continue
        for region in grid.get("regions", []):
            hi = region["teff_hi"]
            lo = region["teff_lo"] / 1000
            key = f"{lo:g}–{hi / 1000:g} kK" if hi < 1e6 else f"≥ {lo:g} kK"
            emu, itp = region["emulator"], region["interpolation"]
            out[key] = {
                "emulator_p95": emu["p95"],
                "ratio_median": itp["median"] / emu["median"] if emu["median"] else math.nan,
                "ratio_p95": itp["p95"] / emu["p95"] if emu["p95"] else math.nan,
                "n": region["emulator"].get("n_nodes", 0),
            }
    return out


def table3(folder: Path, instrument: str) -> dict[tuple[str, str], float]:
    """(snr, label) → RMS, and (snr, "reliability") → the all-label reliability."""
    out: dict[tuple[str, str], float] = {}
    for r in _rows(folder / f"synthesis-{instrument}" / "table3.csv"):
        value = r["rms"] if r["label"] != "all" else r["reliability"]
        key = (r["snr"], r["label"] if r["label"] != "all" else "reliability")
        out[key] = float(value) if value not in ("", None) else math.nan
    return out


def calibration_cells(folder: Path, instrument: str) -> tuple[int, int, list[str], str]:
    """Check cells with the reported-error pull width in 0.8–1.25.

    A pooled check of several seeds (``check-29-31/``: the release cycle's since the thirtieth
    session, named by its seeds) none of whose seeds the stored calibration was fitted on
    (``calibration.json``'s studies: a failed check's seeds may have joined it), else the
    single seed 13 (``check-13/``).

    Returns
    -------
    tuple
        (cells inside, all cells, the cells outside, the check folder's name).
    """
    cal = folder / "calibration" / instrument
    try:
        studies = json.loads((cal / "calibration.json").read_text())["provenance"]["studies"]
    except (OSError, ValueError, KeyError):
        studies = []
    used = {Path(s).name.removeprefix("study-") for s in studies}
    pooled = sorted(p for p in cal.glob("check-*-*")
                    if p.name[len("check-"):].replace("-", "").isdigit() and (p / "widths.csv").is_file()
                    and not used & set(p.name[len("check-"):].split("-")))
    check = pooled[-1] if pooled else cal / "check-13"
    rows = [r for r in _rows(check / "widths.csv") if r["region"] == "-1"]
    outside = [f"{r['name']} S/N {float(r['snr']):g}: {float(r['reported']):.2f}" for r in rows
               if not 0.8 <= float(r["reported"]) <= 1.25]
    return len(rows) - len(outside), len(rows), outside, check.name


def outofbox(folder: Path, bundle: Path, instrument: str) -> dict[str, tuple[int, int]]:
    """{"out": (any BAD, n), "in": (any BAD, n)} of the synthetic out-of-box run, scored now,
    and "in_bad_flags": {bad flag: in-box rows carrying it} (which bits make the false alarms)."""
    from collections import Counter

    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.fitting.flags import BAD_MASK, ResultFlags
    from zeta_payne.validation.realstars_synth import read_synthetic, scoring_box, synthetic_detection

    run = folder / "real" / f"synthetic-{instrument}"
    if not (run / "results.csv").is_file():
        return {}
    rows = read_synthetic(run)
    table = synthetic_detection(rows, *scoring_box(load_bundle(bundle)))
    out = {d["set"]: (d["n_bad"], d["n"]) for d in table
           if d["group"] == "all" and d["set"] in ("in", "out")}
    bits = [f for f in ResultFlags if f & BAD_MASK and f.name]
    out["in_bad_flags"] = dict(Counter(f.name.lower() for r in rows if r["scored"] == "in" and r["bad"]
                                       for f in bits if r["result_flags"] & int(f)))
    return out


def real_bins(folder: Path) -> dict[str, dict[str, Any]]:
    """In-box teff bins of the real-star benchmark: n, BAD and the median offsets."""
    return {r["teff_bin"]: r for r in _rows(folder / "real" / "bins.csv") if r["sample"] == "in-box"}


def environment(folder: Path, instrument: str) -> dict | None:
    """The package versions Table 3's fits were made with (None: not recorded, before 2026-12)."""
    path = folder / f"synthesis-{instrument}" / "studies.json"
    if not path.is_file():
        return None
    studies = json.loads(path.read_text()).get("studies") or [{}]
    return studies[0].get("meta", {}).get("environment")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--instrument", required=True, choices=("boss", "apogee"))
    p.add_argument("--shipped", required=True, type=Path, help="shipped bundle folder")
    p.add_argument("--shipped-docs", required=True, type=Path, help="its validation folder")
    p.add_argument("--candidate", required=True, type=Path, help="candidate bundle folder")
    p.add_argument("--candidate-docs", required=True, type=Path, help="its validation folder")
    p.add_argument("--truth", default="data/truth/synth-truth-v3", help="the held-out truth grid")
    p.add_argument("--midpoints", action="append", default=None,
                   help="a midpoint grid's name (repeatable; default: the finished lattices' "
                        "obaf-sme-v3-midpoints-fine, then the first set, obaf-sme-v3-midpoints)")
    args = p.parse_args(argv)
    inst = args.instrument
    names = {}
    for which, bundle in (("shipped", args.shipped), ("candidate", args.candidate)):
        m = json.loads((bundle / "manifest.json").read_text())
        names[which] = f"{m['name']} {m['version']}"
    sides = (("shipped", args.shipped, args.shipped_docs), ("candidate", args.candidate, args.candidate_docs))
    print(f"# Release figures: {names['candidate']} (candidate) against {names['shipped']} (shipped)\n")
    envs = {w: environment(d, inst) for w, _, d in sides}
    changed = differences(envs["shipped"], envs["candidate"])
    if changed:  # flat χ² valleys can end elsewhere when the last digits change
        print("Environments (shipped → candidate) differ or are unknown: " + "; ".join(
            f"{k} {a} → {b}" for k, (a, b) in changed.items())
              + ". Fits in flat χ² valleys can differ between environments; rates and RMS "
              "should not (docs/validation/v3/README.md, \"Reproducibility across environments\").\n")

    midpoints = args.midpoints or ["obaf-sme-v3-midpoints-fine", "obaf-sme-v3-midpoints"]
    held_out = [(Path(args.truth).name, "truth points"), *((m, "midpoint probes") for m in midpoints)]
    for grid, title in held_out:
        per = {w: holdout(b, grid) for w, b, _ in sides}
        regions = list(dict.fromkeys([*per["shipped"], *per["candidate"]]))
        print(f"## Held out: {title} ({grid}) — emulator p95; interpolation / emulator "
              "median, p95 (target ≤ 0.5)\n")
        print("| region | emulator p95 shipped → candidate | ratio median | ratio p95 |")
        print("| --- | --- | --- | --- |")
        if not regions:
            print(f"| not in either bundle's report ({grid} not given to `bundle holdout`) | | | |")
        for reg in regions:
            s, c = per["shipped"].get(reg, {}), per["candidate"].get(reg, {})
            print(f"| {reg} | {_fmt(s.get('emulator_p95'))} → {_fmt(c.get('emulator_p95'))} | "
                  f"{_fmt(s.get('ratio_median'), 2)} → {_fmt(c.get('ratio_median'), 2)} | "
                  f"{_fmt(s.get('ratio_p95'), 2)} → {_fmt(c.get('ratio_p95'), 2)} |")
        print()

    t3 = {w: table3(d, inst) for w, _, d in sides}
    print("## Table 3 (seed 23): RMS, shipped → candidate, at S/N ∞ / 100 / 50\n")
    print("| label | S/N ∞ | S/N 100 | S/N 50 |")
    print("| --- | --- | --- | --- |")
    for label in (*LABELS, "reliability"):
        def cell(which: str, snr: str, label: str = label) -> str:
            value = t3[which].get((snr, label))
            if label == "reliability" and value is not None and math.isfinite(value):
                return f"{100 * value:.1f} %"
            return _fmt(value)

        cells = [f"{cell('shipped', s)} → {cell('candidate', s)}" for s in SNRS]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()

    print("## Calibration check (fresh seeds pooled, else seed 13): cells with pull width 0.8–1.25\n")
    for which, _, d in sides:
        inside, n, outside, name = calibration_cells(d, inst)
        print(f"- {which} (`{name}/`): {inside} of {n}"
              + (f" (outside: {'; '.join(outside)})" if outside else ""))
    print()

    print("## Out of the box at S/N 50 (any BAD bit; targets ≥ 95 % out, ≤ 5 % in)\n")
    for which, b, d in sides:
        rates = outofbox(d, b, inst)
        cells = [f"{k} {rates[k][0]} / {rates[k][1]}" for k in ("out", "in") if k in rates]
        why = ", ".join(f"{name} {n}" for name, n in sorted(rates.get("in_bad_flags", {}).items()))
        print(f"- {which}: " + (", ".join(cells) if cells else "—")
              + (f" (in-box BAD bits: {why})" if why else ""))
    print()

    if inst == "boss":
        bins = {w: real_bins(d) for w, _, d in sides}
        print("## Real stars, in the box (median offsets; BAD rows left out), shipped → candidate\n")
        print("| teff bin | n | BAD | ΔTeff % | Δlog g | Δ[M/H] |")
        print("| --- | --- | --- | --- | --- | --- |")
        for key in dict.fromkeys([*bins["shipped"], *bins["candidate"]]):
            s, c = bins["shipped"].get(key, {}), bins["candidate"].get(key, {})

            def pair(col: str, digits: int = 2, s=s, c=c) -> str:
                return (f"{_fmt(float(s[col]) if s.get(col) else None, digits)} → "
                        f"{_fmt(float(c[col]) if c.get(col) else None, digits)}")

            print(f"| {key} | {s.get('n', '—')} | {pair('n_bad')} | {pair('d_teff_pct_median')} | "
                  f"{pair('d_logg_median')} | {pair('d_m_h_median')} |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
