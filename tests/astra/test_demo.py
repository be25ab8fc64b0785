"""The demo: its data maker (with toy bundles) and ``zeta-payne demo`` end to end."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from zeta_payne.cli import main

REPO = Path(__file__).resolve().parents[2]


def _make_demo_module():
    spec = importlib.util.spec_from_file_location("make_demo", REPO / "data" / "demo" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_demo_layout(tmp_path, toy_boss, toy_apogee):
    make_demo = _make_demo_module()
    calls = []

    def generator(instrument, labels, v_rad, wavelength, lsf_fwhm):
        calls.append((instrument, lsf_fwhm.shape == wavelength.shape))
        return make_demo.BundleGenerator({"boss": toy_boss, "apogee": toy_apogee})(
            instrument, labels, v_rad, wavelength, lsf_fwhm
        )

    truth = make_demo.make_demo(tmp_path, {"boss": toy_boss, "apogee": toy_apogee}, generator=generator)
    assert len(truth) == len(calls) == 20
    assert sum(r["instrument"] == "boss" for r in truth) == 12
    assert sum(r["instrument"] == "apogee" for r in truth) == 8
    assert all(ok for _, ok in calls)
    size = sum(p.stat().st_size for p in tmp_path.glob("*.fits"))
    assert size < 3e6
    with open(tmp_path / "truth.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"file", "instrument", "teff", "logg", "v_sini", "m_h", "v_rad", "p_oba", "note"} <= set(rows[0])
    assert sum(r["note"].startswith("corrupt") for r in rows) == 3


def test_demo_end_to_end(tmp_path, toy_boss, toy_apogee, capsys):
    make_demo = _make_demo_module()
    oba, elsewhere = make_demo._OBA, make_demo._ELSEWHERE
    layout = (
        {"spectra": [("boss", "apo25m", "good", oba), ("apogee", "apo25m", "good", oba)]},
        {"spectra": [("boss", "lco25m", "good", elsewhere)]},
        {"spectra": [("boss", "apo25m", "truncated", oba)]},
    )
    data = tmp_path / "data"
    make_demo.make_demo(data, {"boss": toy_boss, "apogee": toy_apogee}, layout=layout)
    args = [
        "demo",
        "-o",
        str(tmp_path / "out"),
        "--data",
        str(data),
        "--bundle-boss",
        str(toy_boss.path),
        "--bundle-apogee",
        str(toy_apogee.path),
        "--presearch-points",
        "128",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "fitted 3 new spectra (1 flagged bad)" in out
    assert "routed elsewhere" in out and "runtime_exception" in out
    assert out.count("mwmStar-0.8.0-") == 4  # every demo spectrum has a line
    plots = list((tmp_path / "out" / "plots").glob("*.png"))
    assert len(plots) == 4  # Kiel, run summary, two fits
    # a second run in the same database fits nothing new
    assert main([*args, "--no-plots"]) == 0
    assert "fitted 0 new spectra" in capsys.readouterr().out


SHIPPED = REPO / "data" / "bundles" / "zeta-payne-boss"


@pytest.mark.slow
@pytest.mark.skipif(
    not SHIPPED.is_dir(), reason="shipped bundle data/bundles/zeta-payne-boss not present yet"
)
@pytest.mark.skipif(
    not (REPO / "data" / "demo" / "truth.csv").is_file(), reason="data/demo not generated yet"
)
def test_shipped_demo(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    with open(REPO / "data" / "demo" / "truth.csv") as fh:
        truth = list(csv.DictReader(fh))
    assert out.count("mwmStar-0.8.0-") == len(truth)
    assert "routed elsewhere" in out
