"""Summarize the microturbulence truth study: fits of the same 40 label points synthesized at
several v_micro (``data/truth/make_truth_vmicro.sh``), one ``zeta-payne validate`` run each.

For each true v_micro and S/N: how the fitted v_micro follows the truth, what the other labels
pay when the truth is off a node or outside the box, and what the v_micro edge flag says. The
labels' offsets are paired: the same case (label point, v sin i, RV, extinction, LSF, noise; one
seed) at the reference v_micro (``--reference``, a grid node) is subtracted, so what is left is
the microturbulence's effect alone.

    python docs/validation/diagnosis/vmicro-truth/summarize.py scratch/vmicro-truth/apogee \
        > docs/validation/diagnosis/vmicro-truth/apogee.md

``RUNS`` holds one folder per true v_micro, named ``vmicro<v>`` (each a validate output with
its results.csv).

``--study DIR`` compares instead, in one validate output (a calibration-style study: every
S/N, the whole v sin i range), the fits that end at a v_micro edge with an edge χ² below the
threshold — those the fit option ``edge_chi2_min`` would turn into a warning — against the
fits with no BAD bit and those at an edge with an edge χ² at or above it, per S/N:

    python docs/validation/diagnosis/vmicro-truth/summarize.py \
        --study docs/validation/diagnosis/vmicro-truth/region-13/apogee
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from zeta_payne.fitting.flags import BAD_MASK, ResultFlags

LABELS = ("teff", "logg", "m_h", "v_sini", "v_rad")


def _load(runs: Path) -> pd.DataFrame:
    frames = []
    for folder in sorted(p for p in runs.glob("vmicro*") if (p / "results.csv").is_file()):
        table = pd.read_csv(folder / "results.csv")
        table["vmicro_truth"] = float(folder.name.removeprefix("vmicro"))
        frames.append(table)
    if not frames:
        raise SystemExit(f"{runs}: no vmicro<v>/results.csv")
    return pd.concat(frames, ignore_index=True)


def _has(flags: pd.Series, bit: int) -> np.ndarray:
    return (flags.astype("int64").to_numpy() & int(bit)) != 0


def _rows(table: pd.DataFrame, reference: float, threshold: float) -> list[str]:
    lines = [
        "| true v_micro | S/N | n | fitted v_micro: median (16–84 %) | "
        "Δ[M/H] median / RMS | Δteff [K] median | Δlog g median | paired Δ[M/H] median | "
        "v_micro pull width | at v_micro edge | of them edge χ² ≥ 9 | Δ[M/H] RMS at edge / rest | "
        "BAD: at-edge rule / edge-χ² rule |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ref = table[table.vmicro_truth == reference].set_index(["snr", "index"])
    for (vt, snr), g in table.groupby(["vmicro_truth", "snr"], sort=True):
        vm = g.v_micro.to_numpy()
        q16, q50, q84 = np.nanpercentile(vm, [16, 50, 84])
        dm = (g.m_h - g.true_m_h).to_numpy()
        dt = (g.teff - g.true_teff).to_numpy()
        dg = (g.logg - g.true_logg).to_numpy()
        paired = g.set_index(["snr", "index"]).m_h - ref.m_h.reindex(g.set_index(["snr", "index"]).index)
        pull = ((g.v_micro - g.true_v_micro) / g.e_v_micro).to_numpy()
        pull = pull[np.isfinite(pull)]
        width = 1.4826 * np.median(np.abs(pull - np.median(pull))) if pull.size >= 5 else np.nan
        at = _has(g.result_flags, ResultFlags.V_MICRO_AT_EDGE)
        push = at & (g.edge_chi2_v_micro.to_numpy() >= threshold)
        # the edge-χ² rule (fit option edge_chi2_min): v_micro at an edge the data do not push
        # past is a warning; what else is bad stays bad
        other_bad = _has(g.result_flags, int(BAD_MASK) & ~int(ResultFlags.V_MICRO_AT_EDGE))
        bad, bad_rule = _has(g.result_flags, BAD_MASK).mean(), (other_bad | push).mean()
        rms_at = np.sqrt(np.nanmean(dm[at] ** 2)) if at.any() else np.nan
        rms_rest = np.sqrt(np.nanmean(dm[~at] ** 2))
        lines.append(
            f"| {vt:g} | {snr} | {len(g)} | {q50:.2f} ({q16:.2f}–{q84:.2f}) | "
            f"{np.nanmedian(dm):+.3f} / {np.sqrt(np.nanmean(dm ** 2)):.3f} | {np.nanmedian(dt):+.0f} | "
            f"{np.nanmedian(dg):+.3f} | {np.nanmedian(paired):+.3f} | {width:.2f} | "
            f"{100 * at.mean():.0f} % | {push.sum()} of {at.sum()} | {rms_at:.3f} / {rms_rest:.3f} | "
            f"{100 * bad:.0f} % / {100 * bad_rule:.0f} % |"
        )
    return lines


def _robust_width(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size >= 5 else float("nan")


def _study_rows(table: pd.DataFrame, threshold: float) -> list[str]:
    flags = table.result_flags.astype("int64").to_numpy()
    near = int(ResultFlags.V_MICRO_AT_EDGE | ResultFlags.V_MICRO_NEAR_EDGE)
    at = np.isfinite(table.edge_chi2_v_micro.to_numpy()) & ((flags & near) != 0)
    push = at & (table.edge_chi2_v_micro.to_numpy() >= threshold)
    other_bad = (flags & (int(BAD_MASK) & ~int(ResultFlags.V_MICRO_AT_EDGE))) != 0
    groups = {"no BAD, not at the edge": ~at & ~other_bad,
              f"at the edge, edge χ² < {threshold:g}": at & ~push & ~other_bad,
              f"at the edge, edge χ² ≥ {threshold:g}": push & ~other_bad}
    lines = ["| S/N | fits | n | \\|Δ[M/H]\\| median | [M/H] pull width | \\|ΔTeff\\|/Teff median | "
             "teff pull width | true v sin i median |", "|---|---|---|---|---|---|---|---|"]
    for snr in sorted(table.snr.unique()):
        for name, mask in groups.items():
            g = table[mask & (table.snr == snr).to_numpy()]
            if not len(g):
                continue
            dm = (g.m_h - g.true_m_h).to_numpy()
            dt = (g.teff - g.true_teff).to_numpy()
            lines.append(
                f"| {snr:g} | {name} | {len(g)} | {np.nanmedian(np.abs(dm)):.3f} | "
                f"{_robust_width(dm / g.e_m_h.to_numpy()):.2f} | "
                f"{100 * np.nanmedian(np.abs(dt) / g.true_teff.to_numpy()):.1f} % | "
                f"{_robust_width(dt / g.e_teff.to_numpy()):.2f} | {g.true_v_sini.median():.0f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="?", help="folder of vmicro<v>/ validate outputs")
    parser.add_argument("--study", type=Path, help="one validate output to compare edge fits in")
    parser.add_argument("--v-sini-below", type=float,
                        help="--study: only fits with v sin i below this [km/s], S/N >= 50 pooled")
    parser.add_argument("--reference", type=float, default=2.0, help="the paired reference v_micro [km/s]")
    parser.add_argument(
        "--threshold", type=float, default=9.0, help="the edge χ² rule's value (edge_chi2_min)"
    )
    args = parser.parse_args(argv)
    if args.study is not None:
        table = pd.read_csv(args.study / "results.csv")
        table["snr"] = table.snr.astype(float)
        if args.v_sini_below is not None:  # slow rotators (fitted), S/N 50 and up pooled
            table = table[(table.v_sini < args.v_sini_below) & (table.snr >= 50)].copy()
            table["snr"] = 50.0
        print("\n".join(_study_rows(table, args.threshold)))
        return
    table = _load(args.runs)
    table["snr"] = table.snr.astype(float)
    print("\n".join(_rows(table, args.reference, args.threshold)))


if __name__ == "__main__":
    main()
