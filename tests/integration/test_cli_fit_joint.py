"""``zeta-payne fit --joint`` / ``--epochs``: one source row plus one row per spectrum."""

import csv

import numpy as np
import pytest

from zeta_payne.cli import main
from zeta_payne.fitting.joint import JointOptions
from zeta_payne.io.npz import write_npz

from ..conftest import APOGEE_WAVELENGTH, BOSS_WAVELENGTH, simulate

TRUTH = np.array([13000.0, 4.1, 120.0, 2.0, -0.2])


def _write(path, spectrum, name):
    write_npz(path, spectrum.wavelength, spectrum.flux, spectrum.ivar, name=name, frame="observed")
    return str(path)


def test_fit_joint_boss_and_apogee(toy_boss, toy_apogee, tmp_path):
    boss = _write(
        tmp_path / "b.npz", simulate(toy_boss, BOSS_WAVELENGTH, TRUTH, 15.0, snr=60, seed=1), "star"
    )
    apogee = _write(
        tmp_path / "a.npz", simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, 15.0, snr=60, seed=2), "star"
    )
    out = tmp_path / "joint.csv"
    common = [
        "--bundle-boss",
        str(toy_boss.path),
        "--bundle-apogee",
        str(toy_apogee.path),
        "--presearch-points",
        "256",
        "--rv-range",
        "-60",
        "60",
        "-q",
    ]
    assert main(["fit", "--joint", boss, apogee, *common, "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["row_kind"] for r in rows] == ["joint", "spectrum", "spectrum"]
    joint, first, second = rows
    assert joint["identifier"] == "star" and joint["instrument"] == "boss+apogee"
    assert joint["n_spectra"] == "2" and "+" in joint["bundle"]
    assert abs(float(joint["teff"]) - 13000) < 5 * float(joint["cov_e_teff"]) + 50
    assert float(joint["e_teff"]) > 0 and float(joint["max_tension"]) < JointOptions().tension_threshold
    for row in (first, second):
        assert abs(float(row["v_rad"]) - 15.0) < 2.0
        assert row["teff"] == joint["teff"]  # the shared labels
        assert float(row["single_teff"]) > 0 and float(row["tension"]) >= 0
    assert first["instrument"] == "boss" and second["instrument"] == "apogee"


def test_fit_epochs_visits(toy_apogee, tmp_path):
    rvs = [-30.0, 25.0]
    files = [
        _write(
            tmp_path / f"v{i}.npz", simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, v, snr=40, seed=5 + i), "s"
        )
        for i, v in enumerate(rvs)
    ]
    out = tmp_path / "epochs.csv"
    status = main(
        [
            "fit",
            "--epochs",
            *files,
            "--bundle-apogee",
            str(toy_apogee.path),
            "--presearch-points",
            "256",
            "--rv-range",
            "-60",
            "60",
            "-q",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["row_kind"] for r in rows] == ["joint", "visit", "visit"]
    assert [float(r["v_rad"]) for r in rows[1:]] == [pytest.approx(v, abs=1.5) for v in rvs]
    assert "rv_variable" in rows[0]["flag_names"] and float(rows[0]["rv_peak_to_peak"]) > 50
