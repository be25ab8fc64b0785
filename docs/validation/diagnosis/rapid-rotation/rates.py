"""How often ``rapid_rotation`` fires, from stored fits (the flag is the fitted v sin i at or
above ``FitOptions.rigid_rotation_v_sini_max``; nothing is refitted: no fit rule reads it).

    python docs/validation/diagnosis/rapid-rotation/rates.py
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from zeta_payne.fitting.options import FitOptions

ROOT = Path(__file__).resolve().parents[4]
V3 = ROOT / "docs" / "validation" / "v3"
LIMIT = FitOptions().rigid_rotation_v_sini_max


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def real_stars() -> None:
    rows = _rows(V3 / "real" / "results.csv")
    fast = [r for r in rows if _float(r["v_sini"]) >= LIMIT]
    print(f"real stars (BOSS, {V3 / 'real' / 'results.csv'}): {len(fast)} of {len(rows)} rows")
    print(f"  by scored set: {dict(Counter(r['scored'] for r in fast))} "
          f"(of {dict(Counter(r['scored'] for r in rows))})")
    for r in sorted(fast, key=lambda r: -_float(r["v_sini"])):
        d = _float(r["d_teff"]) / _float(r["teff_ref"])
        others = ",".join(f for f in r["flag_names"].split(",") if f and f != "rapid_rotation")
        print(f"  {r['name']:<28} {r['spectral_type']:<10} {r['scored']:<8} v sin i "
              f"{_float(r['v_sini']):4.0f}  teff {_float(r['teff']):6.0f} (ref {r['teff_ref']:>6}, "
              f"{d:+.1%})  other flags: {others or '-'}")


def table3(instrument: str) -> None:
    path = V3 / f"synthesis-{instrument}" / "results.csv"
    rows = _rows(path)
    print(f"Table 3 cases ({instrument}, {path}; no gravity darkening in the truth):")
    for snr in sorted({r["snr"] for r in rows}, key=_float):
        sel = [r for r in rows if r["snr"] == snr]
        fit = sum(_float(r["v_sini"]) >= LIMIT for r in sel)
        true = sum(_float(r["true_v_sini"]) >= LIMIT for r in sel)
        print(f"  S/N {snr}: flagged {fit} of {len(sel)} (true v sin i >= {LIMIT:.0f}: {true})")
        for name, fast in (("slower", False), ("faster", True)):
            group = [r for r in sel if (_float(r["true_v_sini"]) >= LIMIT) == fast]
            dt = np.median([abs(_float(r["teff"]) / _float(r["true_teff"]) - 1) for r in group])
            dg = np.median([abs(_float(r["logg"]) - _float(r["true_logg"])) for r in group])
            print(f"    true v sin i {name} than {LIMIT:.0f}: n {len(group)}, median |dteff| "
                  f"{dt:.2%}, median |dlogg| {dg:.3f}")


if __name__ == "__main__":
    real_stars()
    for inst in ("boss", "apogee"):
        table3(inst)
