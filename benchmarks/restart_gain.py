"""What the fit's restart in another basin (``FitOptions.restarts``) gains, per S/N.

Runs Table 3's synthesis-truth cases on the per-spectrum path with the bundle's own fit
defaults (which must have ``restarts`` ≥ 1) and records, for every fit with a restart: the
pre-search χ² of the chosen start and of the restart's start, and the final χ² of both
descents. Prints per S/N how often the restart wins and by how much (Δχ² > 1, 10, 25), and how
many restarts a gate on the pre-search χ² gap would run and which large wins it would keep.

Usage (from the repository root; ≈ 4 min per S/N on one core for APOGEE)::

    python benchmarks/restart_gain.py --bundle data/bundles/zeta-payne-apogee --snr inf,50
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from zeta_payne.cli import main as cli
from zeta_payne.fitting.fitter import Fitter


def _instrument(records: list[dict]) -> None:
    """Wrap the fitter's pre-search basins, descents and fits to record their χ²."""
    current: dict = {}
    other_basins, descend, fit_one = Fitter._other_basins, Fitter._descend, Fitter._fit_one

    def _other_basins(self, best, chi2, v):
        out = other_basins(self, best, chi2, v)
        current["pre_best"] = float(chi2[best])
        current["pre_other"] = [
            float(chi2[int(np.flatnonzero(np.all(self._cand_labels == lab, axis=1))[0])]) for lab, _ in out
        ]
        return out

    def _descend(self, prep, fm, labels, v_rad):
        result = descend(self, prep, fm, labels, v_rad)
        current.setdefault("final", []).append(float(2.0 * result[1].cost))
        return result

    def _fit_one(self, spectrum, start=None):
        current.clear()
        result = fit_one(self, spectrum, start)
        records.append(dict(current))
        return result

    Fitter._other_basins, Fitter._descend, Fitter._fit_one = _other_basins, _descend, _fit_one


def _summary(snr: str, records: list[dict]) -> None:
    recs = [r for r in records if len(r.get("final", [])) >= 2 and r.get("pre_other")]
    if not recs:
        print(f"S/N {snr}: no fit with a restart (does the bundle set restarts?)")
        return
    gain = np.array([r["final"][0] - r["final"][1] for r in recs])
    rel = np.array([r["pre_other"][0] / r["pre_best"] - 1.0 for r in recs])
    print(
        f"S/N {snr}: {len(recs)} fits with a restart (refits included); the restart's χ² lower in "
        f"{int((gain > 0).sum())}, by Δχ² > 1 / 10 / 25 in {int((gain > 1).sum())} / "
        f"{int((gain > 10).sum())} / {int((gain > 25).sum())}; largest Δχ² {gain.max():.1f}"
    )
    big = gain > 25
    for threshold in (0.02, 0.05, 0.1):
        run = rel <= threshold
        print(
            f"  a restart only when its start's pre-search χ² is within {100 * threshold:g} % of the "
            f"best's: {run.mean():.0%} of restarts run, {int((big & run).sum())} of {int(big.sum())} "
            "wins by Δχ² > 25 kept"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default="data/bundles/zeta-payne-apogee")
    ap.add_argument("--truth", default="data/truth/synth-truth-v3")
    ap.add_argument("--snr", default="inf,50")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=23)
    args = ap.parse_args()
    records: list[dict] = []
    _instrument(records)
    for snr in args.snr.split(","):
        records.clear()
        with tempfile.TemporaryDirectory() as out:
            cli(["validate", "--bundle", args.bundle, "--generator", "synthesis", "--truth", args.truth,
                 "--snr", snr, "--n", str(args.n), "--seed", str(args.seed), "--processes", "1",
                 "--batch-size", "1", "-o", out])
        _summary(snr, records)


if __name__ == "__main__":
    main()
