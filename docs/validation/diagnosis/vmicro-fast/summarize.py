"""Compare fits of fast rotators at several true v_micro: one bundle variant per folder.

Each variant folder holds ``vmicro<v>/results.csv`` (``zeta-payne validate`` outputs of the
microturbulence truth sets, ``data/truth/synth-truth-v3-vmicro<v>``, one seed for all, so each
case differs between sets only by its true v_micro). Per variant, true v_micro, S/N and fitted
v sin i bin: the [M/H] offset (median, RMS), teff and log g offsets, the fraction of fits with
any BAD bit and with v_micro at an edge.

    python docs/validation/diagnosis/vmicro-fast/summarize.py scratch/vmicro-fast/free \
        scratch/vmicro-fast/fixed2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from zeta_payne.fitting.flags import BAD_MASK, ResultFlags

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "vmicro-truth"))
from summarize import _has, _load  # noqa: E402  (the microturbulence study's helpers)

BINS = ((60.0, 150.0), (150.0, 250.0), (250.0, 400.0))


def _line(name: str, rows: pd.DataFrame) -> str:
    d_mh = rows["m_h"] - rows["true_m_h"]
    d_teff = (rows["teff"] - rows["true_teff"]) / rows["true_teff"] * 100
    d_logg = rows["logg"] - rows["true_logg"]
    bad = _has(rows["result_flags"], BAD_MASK)
    edge = _has(rows["result_flags"], ResultFlags.V_MICRO_AT_EDGE)
    return (f"| {name} | {len(rows)} | {np.median(d_mh):+.3f} / {np.sqrt(np.mean(d_mh**2)):.3f} | "
            f"{np.median(np.abs(d_teff)):.2f} / {np.percentile(np.abs(d_teff), 90):.2f} | "
            f"{np.median(d_logg):+.3f} / {np.sqrt(np.mean(d_logg**2)):.3f} | "
            f"{bad.mean() * 100:.0f} % | {edge.mean() * 100:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", type=Path, help="one folder per bundle variant")
    args = parser.parse_args()
    tables = {folder.name: _load(folder) for folder in args.variants}
    header = ("| variant | n | Δ[M/H] median / RMS | \\|Δteff\\| % median / p90 | Δlog g median / RMS | "
              "any BAD | v_micro at edge |\n|---|---|---|---|---|---|---|")
    for snr in sorted({s for t in tables.values() for s in t["snr"].unique()}, reverse=True):
        for lo, hi in BINS:
            print(f"\n### S/N {snr:g}, true v sin i {lo:.0f}–{hi:.0f} km/s\n")
            for vmicro in sorted({v for t in tables.values() for v in t["vmicro_truth"].unique()}):
                print(f"\ntrue v_micro {vmicro:g} km/s\n\n{header}")
                for name, table in tables.items():
                    rows = table[(table["snr"] == snr) & (table["vmicro_truth"] == vmicro)
                                 & (table["true_v_sini"] >= lo) & (table["true_v_sini"] < hi)]
                    if len(rows):
                        print(_line(name, rows))
        for title, inbox in (("in-box true v_micro (1.5–3.5 km/s)", True),
                             ("true v_micro 5 km/s (beyond the box)", False)):
            print(f"\n### S/N {snr:g}, all v sin i, {title} pooled\n\n{header}")
            for name, table in tables.items():
                rows = table[(table["snr"] == snr) & ((table["vmicro_truth"] <= 4.0) == inbox)]
                print(_line(name, rows))
    _paired(tables)


def _paired(tables: dict[str, pd.DataFrame]) -> None:
    """The same cases split by whether the first variant's fit ended at a v_micro edge."""
    names = list(tables)
    first = tables[names[0]]
    for table in tables.values():
        if len(table) != len(first) or not np.array_equal(table["true_m_h"], first["true_m_h"]):
            raise SystemExit("variants do not hold the same cases")
    edge = _has(first["result_flags"], ResultFlags.V_MICRO_AT_EDGE)
    print(f"\n### The same cases, split by whether the {names[0]} fit ended at a v_micro edge\n")
    print("| S/N | true v_micro | "
          f"{names[0]} at edge | n | " + " | ".join(f"{n}: \\|Δ[M/H]\\| median / RMS" for n in names)
          + " |\n|---|---|---|---|" + "---|" * len(names))
    for snr in sorted(first["snr"].unique(), reverse=True):
        for title, inbox in (("1.5–3.5", True), ("5", False)):
            for at_edge in (True, False):
                sel = ((first["snr"] == snr) & ((first["vmicro_truth"] <= 4.0) == inbox)).to_numpy()
                sel &= edge == at_edge
                cells = []
                for table in tables.values():
                    d = (table["m_h"] - table["true_m_h"]).to_numpy()[sel]
                    cells.append(f"{np.median(np.abs(d)):.3f} / {np.sqrt(np.mean(d**2)):.3f}")
                print(f"| {snr:g} | {title} | {'yes' if at_edge else 'no'} | {sel.sum()} | "
                      + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
