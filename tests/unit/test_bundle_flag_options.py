"""A bundle's own flag settings: ``unconstrained_error`` (``<LABEL>_UNCONSTRAINED``) and
``out_of_box`` thresholds reach the flags of both fitters."""

import math

import numpy as np
import pytest

from zeta_payne.fitting import Fitter
from zeta_payne.fitting.diagnostics import unconstrained_flags
from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags
from zeta_payne.fitting.options import FitOptions, merge_options
from zeta_payne.fitting.outofbox import OutOfBoxThresholds

from ..conftest import BOSS_WAVELENGTH, simulate

# toy labels: teff, logg, v_sini, v_micro, m_h
LABELS = np.array([8000.0, 4.0, 30.0, 2.0, -0.2])


def test_unconstrained_flags_only_free_labels_above_their_limit():
    names = ("teff", "logg", "v_sini", "v_micro", "m_h")
    free = np.array([True, True, True, False, True])
    cov_e = np.array([50.0, 0.05, 3.0, np.nan, 0.45])
    options = FitOptions(unconstrained_error={"m_h": 0.3, "teff": 100.0, "v_micro": 0.1})
    assert unconstrained_flags(cov_e, free, names, options) == int(ResultFlags.M_H_UNCONSTRAINED)
    cov_e[0] = 150.0
    assert unconstrained_flags(cov_e, free, names, options) == int(
        ResultFlags.M_H_UNCONSTRAINED | ResultFlags.TEFF_UNCONSTRAINED
    )
    cov_e[4] = np.nan  # a singular covariance is FITTING_FAILURE's business, not this flag's
    assert unconstrained_flags(cov_e, free, names, options) == int(ResultFlags.TEFF_UNCONSTRAINED)
    assert unconstrained_flags(cov_e, free, names, FitOptions()) == 0
    # a warning, never a bad bit
    assert ResultFlags.M_H_UNCONSTRAINED & WARN_MASK and not ResultFlags.M_H_UNCONSTRAINED & BAD_MASK


def test_out_of_box_changes_round_trip_through_json():
    import json

    t = OutOfBoxThresholds.from_changes({"ratio": {"balmer": 6.0, "helium_ii": "inf"}, "emission": 7})
    assert t.ratio["balmer"] == 6.0 and math.isinf(t.ratio["helium_ii"]) and t.ratio["metals"] == 8.0
    assert t.emission == 7.0 and t.bias_helium == OutOfBoxThresholds().bias_helium
    changes = json.loads(json.dumps(t.changes()))
    assert changes == {"ratio": {"balmer": 6.0, "helium_ii": "inf"}, "emission": 7.0}
    assert OutOfBoxThresholds.from_changes(changes) == t
    assert OutOfBoxThresholds.from_changes({}) == OutOfBoxThresholds()
    with pytest.raises(ValueError, match="unknown thresholds"):
        OutOfBoxThresholds.from_changes({"emision": 7})
    with pytest.raises(ValueError, match="line groups"):
        OutOfBoxThresholds.from_changes({"ratio": {"balmr": 7}})


def _fitter(bundle, **changes):
    base = {"presearch_points": 512, "compute_uncertainties": False}
    return Fitter(bundle, merge_options(bundle.manifest.fit_defaults, {**base, **changes}))


def test_the_fitters_flag_by_the_bundles_settings(toy_boss):
    spectrum = simulate(toy_boss, BOSS_WAVELENGTH, LABELS, v_rad=4.0, snr=30, seed=3)
    im = toy_boss.manifest.label_names.index("m_h")
    plain = _fitter(toy_boss).fit(spectrum)
    e = plain.cov_e_labels[im]
    assert np.isfinite(e) and e > 0
    assert not plain.flags & (ResultFlags.M_H_UNCONSTRAINED | ResultFlags.OUT_OF_BOX)

    below = _fitter(toy_boss, unconstrained_error={"m_h": 0.5 * e})
    above = _fitter(toy_boss, unconstrained_error={"m_h": 2.0 * e})
    strict = _fitter(toy_boss, out_of_box={"ratio": {"balmer": 1e-9}})
    for batched in (False, True):
        (r_below,) = below.fit_batch([spectrum], batched=batched)
        (r_above,) = above.fit_batch([spectrum], batched=batched)
        (r_strict,) = strict.fit_batch([spectrum], batched=batched)
        assert r_below.flags & ResultFlags.M_H_UNCONSTRAINED, batched
        assert not r_above.flags & ResultFlags.M_H_UNCONSTRAINED, batched
        assert r_strict.flags & ResultFlags.LINE_MISMATCH, batched
        assert r_strict.flags & ResultFlags.OUT_OF_BOX, batched


def test_unknown_labels_and_thresholds_are_refused(toy_boss):
    with pytest.raises(ValueError, match="unknown labels"):
        _fitter(toy_boss, unconstrained_error={"feh": 0.3})
    with pytest.raises(ValueError, match="unknown thresholds"):
        _fitter(toy_boss, out_of_box={"ratios": {}})


def test_table3_reports_the_unconstrained_fits_apart(toy_boss, tmp_path):
    from zeta_payne.validation.report import table3_rows, write_report
    from zeta_payne.validation.statistics import converged

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 0)
    flagged = np.arange(study.flags.size) % 3 == 0
    study.flags[flagged] |= int(ResultFlags.M_H_UNCONSTRAINED)
    rows = {r["label"]: r for r in table3_rows([study])}
    d = study.deltas(["m_h"])["m_h"]
    kept = converged(d) & ~flagged
    assert rows["m_h"]["n_unconstrained"] == flagged.sum() > 0
    assert rows["m_h"]["rms_constrained"] == pytest.approx(np.sqrt(np.mean(d[kept] ** 2)))
    assert rows["teff"]["n_unconstrained"] == 0
    write_report([study], tmp_path / "study")
    text = (tmp_path / "study" / "report.md").read_text()
    assert f"{flagged.sum()} of {flagged.size} fits M_H_UNCONSTRAINED" in text
