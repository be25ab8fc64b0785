"""The spectrum's own LSF decides the fit (issue 13 item 1), with the shipped BOSS bundle.

A BOSS spectrum made by the forward model with a known per-pixel LSF (R 1,500 → 2,600 along
the spectrum, like BOSS) is fitted with its ``wresl`` as given, doubled, halved and absent.
A wider assumed LSF leaves less of the line width to rotation, so v sin i must fall; a
narrower one must raise it; without ``wresl`` the bundle's R is used and the fit says so.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from zeta_payne.bundles.registry import find_bundle

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (REPO / "data" / "bundles" / "zeta-payne-boss").is_dir(), reason="no shipped bundles"
)

TRUTH = np.array([9500.0, 4.0, 100.0, 0.0])  # teff, logg, v_sini, m_h
V_RAD = 17.0
LAM = 10 ** (3.5523 + 1e-4 * np.arange(4648))
WRESL = LAM / (1500.0 + 1100.0 * (LAM - 3600.0) / (10300.0 - 3600.0))


@pytest.fixture(scope="module")
def bundle():
    return find_bundle(REPO / "data" / "bundles" / "zeta-payne-boss")


@pytest.fixture(scope="module")
def observed(bundle):
    """Flux and ivar at S/N 100 from the forward model with the LSF ``WRESL``."""
    from zeta_payne.model.forward import ForwardModel
    from zeta_payne.model.response import random_response

    assert bundle.manifest.label_names[:4] == ("teff", "logg", "v_sini", "m_h")
    rng = np.random.default_rng(1)
    lo, hi = bundle.manifest.fit_defaults["wavelength_range"]
    sel = (LAM >= lo) & (LAM <= hi)
    fm = ForwardModel(bundle.emulator(), bundle.grid, LAM[sel], WRESL[sel], np.ones((sel.sum(), 1)))
    # a bundle with more labels (v3: v_micro) gets the rest at their defaults (v_micro 2 km/s)
    extra = [bundle.manifest.fit_defaults.get("hold_outside", {}).get(name, {}).get("value", 2.0)
             for name in bundle.manifest.label_names[4:]]
    norm = np.ones(LAM.size)
    norm[sel] = fm.normalized(np.concatenate([TRUTH, extra]), V_RAD)
    flux = norm * random_response(LAM, 5, rng) * 100.0
    sigma = flux / 100.0
    return flux + rng.normal(size=flux.size) * sigma, 1.0 / sigma**2


@pytest.fixture(scope="module")
def fits(bundle, observed):
    """Fits with the bundle's default options (the path that ignored ``wresl`` before)."""
    from zeta_payne.fitting import Fitter, Spectrum

    fitter = Fitter(bundle)
    flux, ivar = observed
    cases = {"given": WRESL, "doubled": 2.0 * WRESL, "halved": 0.5 * WRESL, "absent": None,
             "bundle_r": LAM / bundle.manifest.fit_defaults["resolution"]}
    return {name: fitter.fit(Spectrum(LAM, flux, ivar, lsf_fwhm=w)) for name, w in cases.items()}


def test_default_options_do_not_override_the_spectrum_lsf(bundle):
    from zeta_payne.fitting import Fitter

    options = Fitter.default_options(bundle)
    assert options.resolution is None
    assert options.fallback_resolution == bundle.manifest.fit_defaults["resolution"] == 2000.0


def test_wresl_changes_v_sini_as_physics_says(fits):
    given, doubled, halved = fits["given"], fits["doubled"], fits["halved"]
    for r in (given, doubled, halved):
        assert r.lsf_source == "spectrum" and "lsf_from_bundle" not in r.flag_names
    assert abs(given.label("v_sini") - TRUTH[2]) < 15.0, given.label("v_sini")
    assert abs(given.label("teff") - TRUTH[0]) < 300.0
    # a wider assumed LSF leaves less broadening for rotation, a narrower one more
    assert doubled.label("v_sini") < given.label("v_sini") - 30.0
    assert halved.label("v_sini") > given.label("v_sini") + 20.0
    assert doubled.rchi2 > given.rchi2  # and the wrong LSF fits worse


def test_no_wresl_uses_the_bundle_resolution_with_a_flag(fits):
    absent, bundle_r = fits["absent"], fits["bundle_r"]
    assert absent.lsf_source == "bundle" and "lsf_from_bundle" in absent.flag_names
    assert not absent.flag_bad
    # the same fit as with R = 2,000 given per pixel: the bundle's R was the LSF
    np.testing.assert_allclose(absent.labels, bundle_r.labels, rtol=1e-6)
    assert bundle_r.lsf_source == "spectrum" and "lsf_from_bundle" not in bundle_r.flag_names


def test_explicit_resolution_overrides_the_spectrum_lsf(bundle, observed, fits):
    from zeta_payne.fitting import Fitter, Spectrum
    from zeta_payne.fitting.options import merge_options

    options = merge_options(bundle.manifest.fit_defaults, {"resolution": 2000.0})
    flux, ivar = observed
    r = Fitter(bundle, options).fit(Spectrum(LAM, flux, ivar, lsf_fwhm=2.0 * WRESL))
    assert r.lsf_source == "option" and "lsf_from_bundle" not in r.flag_names
    np.testing.assert_allclose(r.labels, fits["bundle_r"].labels, rtol=1e-6)


def test_cli_fit_uses_the_npz_wresl(bundle, observed, fits, tmp_path):
    from zeta_payne.cli import main
    from zeta_payne.io.npz import write_npz

    flux, ivar = observed
    paths = []
    for name, w in (("given", WRESL), ("doubled", 2.0 * WRESL)):
        paths.append(tmp_path / f"{name}.npz")
        write_npz(paths[-1], LAM, flux, ivar, wresl=w, name=name, frame="rest")
    out = tmp_path / "fit.csv"
    assert main(["fit", *map(str, paths), "--bundle", str(bundle.path), "-o", str(out)]) == 0
    rows = {Path(row["file"]).stem: row for row in csv.DictReader(open(out))}
    for name in ("given", "doubled"):
        assert rows[name]["lsf_source"] == "spectrum" and rows[name]["frame"] == "rest"
    # the two files are fitted together on the batched path: the well-specified one equal to
    # the fit alone within a small fraction of the error (issue 16). The doubled LSF leaves a
    # misfit (rχ² 1.85) with two basins over v sin i and v_micro (BOSS 3.2.4, v_micro 1–6
    # km/s): the batched solver, which takes other steps, may end in the other one (measured:
    # v sin i 0 against 8.9 km/s, rχ² 1.862 against 1.853), so only its physics is asserted
    e_v_sini = fits["given"].raw_e_labels[fits["given"].label_names.index("v_sini")]
    assert float(rows["given"]["v_sini"]) == pytest.approx(fits["given"].label("v_sini"), abs=0.05 * e_v_sini)
    assert float(rows["doubled"]["rchi2"]) > float(rows["given"]["rchi2"])
    assert float(rows["doubled"]["v_sini"]) < float(rows["given"]["v_sini"]) - 30.0
    # --resolution overrides both files' wresl: the same fit twice
    assert main(["fit", *map(str, paths), "--bundle", str(bundle.path), "--resolution", "2000",
                 "-o", str(out), "--overwrite"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert {row["lsf_source"] for row in rows} == {"option"}
    # the same fit twice (one batch: equal to far below the error, not bit for bit — the
    # batched Jacobian's float32 tangents and the batch position change the last digits)
    assert float(rows[0]["v_sini"]) == pytest.approx(float(rows[1]["v_sini"]), rel=1e-6)
