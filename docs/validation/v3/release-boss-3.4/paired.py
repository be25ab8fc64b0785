"""Rule 5's real-star figures star by star: each candidate against BOSS 3.2.6 on the same stars.

Rule 5 (``data/bundles/README.md`` step 20) compares each teff bin's median offset from the
literature between two fits of the same in-box stars. This prints, per bin, those two
medians (BAD rows left out, as in ``real/bins.csv``) beside the median of the per-star change
(candidate − 3.2.6, over the stars neither flags BAD) and the bin's sampling error of the
median (1.2533 × 1.4826 × MAD / √n), for teff (%) and [M/H]; then, as the real-star report
counts them (the scored set ``in``; BAD or POOR_FIT), the stars more than 15 % off in teff
without a flag, and those 3.2.6 flags that the candidate does not. The last column is step
24's rule 5 (``data/bundles/README.md``): how much further from the literature the per-star
change p takes the bin's median s under 3.2.6 (at most 0.5 % in teff, 0.03 dex in [M/H]).

    python docs/validation/v3/release-boss-3.4/paired.py [out-presearch | out | ../release-boss-3.5/out]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from zeta_payne.fitting.flags import BAD_MASK, ResultFlags

HERE = Path(__file__).parent
SHIPPED = HERE.parent / "real" / "results.csv"
BINS = [(6000, 6400), (6400, 7500), (7500, 10000), (10000, 15000), (15000, 25000)]


def _load(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path).set_index("name")
    flags = table["result_flags"].fillna(0).astype("int64")
    table["bad"] = (flags & int(BAD_MASK)) != 0
    table["flagged"] = (flags & int(BAD_MASK | ResultFlags.POOR_FIT)) != 0
    table["d_teff_pct"] = 100.0 * table["d_teff"] / table["teff_ref"]
    return table


def _se_median(values: np.ndarray) -> float:
    mad = np.median(np.abs(values - np.median(values)))
    return 1.2533 * 1.4826 * mad / np.sqrt(len(values))


def main(argv: list[str]) -> None:
    folder = HERE / (argv[0] if argv else "out-presearch")
    old, new = _load(SHIPPED), _load(folder / "real" / "results.csv")
    new = new.reindex(old.index)
    inbox = old["in_box"].astype(bool)
    print(f"{folder.name} against 3.2.6, in-box stars (BAD rows left out)")
    print("bin | label | n | median 3.2.6 (s) | median cand. | Δ of medians | SE of a median | "
          "paired median p (n) | |s + p| − |s|")
    for lo, hi in BINS:
        rows = inbox & (old["teff_ref"] >= lo) & (old["teff_ref"] < hi)
        for column in ("d_teff_pct", "d_m_h"):
            a = old.loc[rows & ~old["bad"], column].dropna().to_numpy()
            b = new.loc[rows & ~new["bad"], column].dropna().to_numpy()
            both = rows & ~old["bad"] & ~new["bad"]
            paired = (new.loc[both, column] - old.loc[both, column]).dropna()
            print(f"{lo}-{hi} | {column} | {len(a)}/{len(b)} | {np.median(a):+.4f} | "
                  f"{np.median(b):+.4f} | {np.median(b) - np.median(a):+.4f} | "
                  f"{_se_median(a):.4f} | {paired.median():+.4f} ({len(paired)}) | "
                  f"{abs(np.median(a) + paired.median()) - abs(np.median(a)):+.4f}")
    scored = old["scored"] == "in"
    off_old = scored & (old["d_teff_pct"].abs() > 15)
    off_new = scored & (new["d_teff_pct"].abs() > 15)
    print("scored in, > 15 % off in teff, neither BAD nor POOR_FIT: 3.2.6",
          sorted(old.index[off_old & ~old["flagged"]]), "candidate",
          sorted(new.index[off_new & ~new["flagged"].astype(bool)]))
    print("of those, flagged by 3.2.6 and not by the candidate:",
          sorted(old.index[off_old & old["flagged"] & off_new & ~new["flagged"].astype(bool)]))


if __name__ == "__main__":
    main(sys.argv[1:])
