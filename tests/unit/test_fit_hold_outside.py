"""hold_outside: v_micro is fitted where the bundle constrains it and held at 2 km/s elsewhere."""

import numpy as np
import pytest

from zeta_payne.fitting import FitOptions, Fitter
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.options import merge_options

from ..conftest import BOSS_WAVELENGTH, simulate

HOLD = {"v_micro": {"label": "teff", "range": [6000.0, 10000.0], "value": 2.0}}
# toy labels: teff, logg, v_sini, v_micro, m_h
COOL = np.array([8000.0, 4.0, 30.0, 3.0, -0.2])
HOT = np.array([14500.0, 4.2, 150.0, 3.0, 0.25])


@pytest.fixture(scope="module")
def fitter(toy_boss):
    options = merge_options(toy_boss.manifest.fit_defaults,
                            {"presearch_points": 1024, "free": ["v_micro"], "hold_outside": HOLD})
    return Fitter(toy_boss, options)


def test_v_micro_is_fitted_inside_the_range_and_held_outside(toy_boss, fitter):
    iv = toy_boss.manifest.label_names.index("v_micro")
    assert fitter.rules.holds == {"v_micro": (0, 6000.0, 10000.0, 2.0)}
    cool = fitter.fit(simulate(toy_boss, BOSS_WAVELENGTH, COOL, v_rad=5.0))
    assert abs(cool.labels[iv] - 3.0) < 0.05 and np.isfinite(cool.cov_e_labels[iv])
    assert abs(cool.labels[0] - COOL[0]) < 100
    hot = fitter.fit(simulate(toy_boss, BOSS_WAVELENGTH, HOT, v_rad=5.0))
    assert hot.labels[iv] == 2.0 and np.isnan(hot.cov_e_labels[iv])  # held, not fitted
    assert hot.labels[0] > 10000.0
    assert list(fitter._held_fitters) == [("v_micro",)]


def test_batches_report_the_held_results(toy_boss, fitter):
    spectra = [simulate(toy_boss, BOSS_WAVELENGTH, lab, v_rad=-8.0, snr=100, seed=k)
               for k, lab in enumerate((HOT, COOL, HOT))]
    seen = {}
    results = fitter.fit_batch(spectra, progress=lambda i, r: seen.__setitem__(i, r), batched=True)
    iv = toy_boss.manifest.label_names.index("v_micro")
    assert [r.labels[iv] == 2.0 for r in results] == [True, False, True]
    assert sorted(seen) == [0, 1, 2] and all(seen[i] is results[i] for i in seen)


def test_fixed_wins_and_unknown_labels_are_refused(toy_boss):
    options = FitOptions(presearch_points=256, free=("v_micro",), fixed={"v_micro": 1.5}, hold_outside=HOLD)
    assert Fitter(toy_boss, options).rules.holds == {}  # held everywhere already
    unfreed = Fitter(toy_boss, FitOptions(presearch_points=256, hold_outside=HOLD))
    assert unfreed.rules.holds == {}  # not freed
    typo = {"v_micro": {"label": "t_eff", "range": [0, 1], "value": 2}}
    with pytest.raises(ValueError, match="hold_outside"):
        Fitter(toy_boss, FitOptions(presearch_points=256, free=("v_micro",), hold_outside=typo))


def test_joint_and_epoch_fits_hold_too(toy_boss, fitter):
    from zeta_payne.fitting.joint import JointOptions, fit_epochs, fit_joint

    def visits(labels):
        return [simulate(toy_boss, BOSS_WAVELENGTH, labels, v_rad=v, snr=100, seed=k)
                for k, v in enumerate((-5.0, 12.0))]

    hot = visits(HOT)
    joint = fit_joint([fitter, fitter], hot)
    assert joint.result.labels[joint.result.label_names.index("v_micro")] == 2.0
    epochs = fit_epochs(fitter, hot, JointOptions(single_fits=False))
    assert epochs.result.labels[epochs.result.label_names.index("v_micro")] == 2.0
    cool = visits(COOL)
    kept = fit_epochs(fitter, cool, JointOptions(single_fits=False))
    assert abs(kept.result.labels[kept.result.label_names.index("v_micro")] - 3.0) < 0.2


BLUE = {"label": "teff", "range": [0.0, 10000.0], "value": 4900.0}


def test_blue_limit_outside_refits_hot_spectra_on_the_narrower_range(toy_boss):
    """A fit ending above the rule's teff is repeated from its blue limit (fewer pixels), a
    cool one is not; both paths (one spectrum, batches) report the refit."""
    from zeta_payne.fitting.refits import BLUE_LIMIT

    options = merge_options(toy_boss.manifest.fit_defaults,
                            {"presearch_points": 1024, "blue_limit_outside": BLUE})
    fitter = Fitter(toy_boss, options)
    plain = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {"presearch_points": 1024}))
    assert fitter.rules.active and fitter.rules.blue_rule == (0, 0.0, 10000.0, 4900.0)
    at_2 = toy_boss.manifest.label_names.index("v_micro")  # the bundle holds v_micro at 2 km/s
    cool_spec = simulate(toy_boss, BOSS_WAVELENGTH, np.where(np.arange(5) == at_2, 2.0, COOL), v_rad=5.0)
    hot_spec = simulate(toy_boss, BOSS_WAVELENGTH, np.where(np.arange(5) == at_2, 2.0, HOT), v_rad=5.0)
    cool, hot = fitter.fit(cool_spec), fitter.fit(hot_spec)
    assert cool.labels[0] < 10000.0 and cool.n_pixels == plain.fit(cool_spec).n_pixels  # whole range
    in_blue = np.count_nonzero((BOSS_WAVELENGTH >= plain.default_range[0]) & (BOSS_WAVELENGTH < 4900.0))
    assert in_blue > 0 and hot.n_pixels <= plain.fit(hot_spec).n_pixels - in_blue + 5
    assert abs(hot.labels[0] - HOT[0]) < 300
    assert list(fitter._held_fitters) == [(BLUE_LIMIT,)]
    held = fitter._held_fitters[(BLUE_LIMIT,)]
    assert held.options.wavelength_range[0] == 4900.0 and not held.rules.active
    batch = fitter.fit_batch([hot_spec, cool_spec], batched=True)
    assert [r.n_pixels for r in batch] == [hot.n_pixels, cool.n_pixels]
    with pytest.raises(ValueError, match="blue_limit_outside"):
        Fitter(toy_boss, FitOptions(presearch_points=256, blue_limit_outside={**BLUE, "label": "t_eff"}))


def test_an_unconstrained_label_at_the_edge_is_fitted_again_held(toy_boss):
    """hold_unconstrained_at_edge: a fit whose [M/H] ends at an edge of the box (the spectrum
    made beyond it, +1.1 against the box's +0.8) while flagged
    M_H_UNCONSTRAINED is repeated with [M/H] held; one inside the box is not."""
    from zeta_payne.fitting.flags import ResultFlags

    im = toy_boss.manifest.label_names.index("m_h")
    # every [M/H] counts as unconstrained here (threshold ~0), so the edge alone decides
    base = {"presearch_points": 1024, "unconstrained_error": {"m_h": 1e-9}}
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults,
                                            {**base, "hold_unconstrained_at_edge": {"m_h": 0.0}}))
    plain = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, base))
    assert fitter.rules.active and fitter.rules.edge_holds == {"m_h": 0.0}
    at_edge = simulate(toy_boss, BOSS_WAVELENGTH, [9000.0, 4.0, 30.0, 2.0, 1.1], v_rad=5.0, snr=100)
    inside = simulate(toy_boss, BOSS_WAVELENGTH, [9000.0, 4.0, 30.0, 2.0, -0.3], v_rad=5.0, snr=100)
    first = plain.fit(at_edge)
    assert first.flags & ResultFlags.M_H_AT_EDGE and first.flags & ResultFlags.M_H_UNCONSTRAINED
    held = fitter.fit(at_edge)
    assert held.labels[im] == 0.0 and np.isnan(held.cov_e_labels[im]) and np.isnan(held.e_labels[im])
    assert held.flags & ResultFlags.M_H_UNCONSTRAINED  # says why [M/H] has no error
    assert not held.flags & ResultFlags.M_H_AT_EDGE
    kept = fitter.fit(inside)
    assert abs(kept.labels[im] + 0.3) < 0.05 and np.isfinite(kept.cov_e_labels[im])
    batch = fitter.fit_batch([inside, at_edge], batched=True)
    assert [r.labels[im] == 0.0 for r in batch] == [False, True]
    with pytest.raises(ValueError, match="hold_unconstrained_at_edge"):
        Fitter(toy_boss, FitOptions(presearch_points=256, hold_unconstrained_at_edge={"mh": 0.0}))


def test_a_held_refit_that_ends_unconstrained_at_the_edge_is_held_there_too(toy_boss, monkeypatch):
    """The two rules compose: a fit refitted with v_micro held (teff outside its range) whose
    refit then puts [M/H] at an edge, unconstrained, is fitted once more with both held.
    (Seen on APOGEE hot stars: the first fit had [M/H] inside, the v_micro-held refit at −2.)"""
    from dataclasses import replace

    from zeta_payne.fitting.flags import ResultFlags

    im = toy_boss.manifest.label_names.index("m_h")
    iv = toy_boss.manifest.label_names.index("v_micro")
    hold = {"v_micro": {"label": "teff", "range": [6000.0, 8500.0], "value": 2.0}}
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {
        "presearch_points": 1024, "free": ["v_micro"], "hold_outside": hold,
        "hold_unconstrained_at_edge": {"m_h": 0.0}}))
    spectrum = simulate(toy_boss, BOSS_WAVELENGTH, [9000.0, 4.0, 30.0, 2.0, -0.3], v_rad=5.0, snr=100)
    # the v_micro-held refit reports [M/H] at the edge and unconstrained (forced here, so
    # that the test does not depend on where the toy's χ² surface happens to send it)
    v_held = fitter.held_fitter(("v_micro",))
    real_batch = v_held.fit_batch
    edge = int(ResultFlags.M_H_AT_EDGE | ResultFlags.M_H_UNCONSTRAINED)
    monkeypatch.setattr(v_held, "fit_batch", lambda spectra, **kw: [
        replace(r, flags=int(r.flags) | edge) for r in real_batch(spectra, **kw)])
    result = fitter.fit(spectrum)
    assert result.labels[iv] == 2.0 and result.labels[im] == 0.0
    assert result.flags & ResultFlags.M_H_UNCONSTRAINED and not result.flags & ResultFlags.M_H_AT_EDGE
    assert ("v_micro", "m_h") in fitter._held_fitters
    batch = fitter.fit_batch([spectrum, spectrum], batched=True)
    assert all(r.labels[im] == 0.0 and r.labels[iv] == 2.0 for r in batch)


MASK = {"label": "teff", "range": [0.0, 10000.0], "bands": [[5880.0, 5905.0], [6270.0, 6300.0]]}


def test_masked_bands_outside_refits_hot_spectra_without_the_bands(toy_boss):
    """A fit ending above the rule's teff is repeated with the rule's bands left out (fewer
    pixels, the bands' own), a cool one is not; with ``blue_limit_outside`` too, one refit
    does both."""
    from zeta_payne.fitting.refits import BLUE_LIMIT, EXTRA_MASK

    base = {"presearch_points": 1024}
    plain = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, base))
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults,
                                            {**base, "masked_bands_outside": MASK}))
    assert fitter.rules.active
    assert fitter.rules.mask_rule == (0, 0.0, 10000.0, ((5880.0, 5905.0), (6270.0, 6300.0)))
    at_2 = toy_boss.manifest.label_names.index("v_micro")
    cool_spec = simulate(toy_boss, BOSS_WAVELENGTH, np.where(np.arange(5) == at_2, 2.0, COOL), v_rad=5.0)
    hot_spec = simulate(toy_boss, BOSS_WAVELENGTH, np.where(np.arange(5) == at_2, 2.0, HOT), v_rad=5.0)
    cool, hot = fitter.fit(cool_spec), fitter.fit(hot_spec)
    from zeta_payne.fitting.preparation import in_masked_bands

    bands = FitOptions(masked_bands=tuple(tuple(b) for b in MASK["bands"]))  # widened as in a fit
    in_bands = np.count_nonzero(in_masked_bands(np.asarray(hot_spec.wavelength), bands, hot_spec.frame))
    assert in_bands > 10
    assert cool.n_pixels == plain.fit(cool_spec).n_pixels
    assert plain.fit(hot_spec).n_pixels - hot.n_pixels == pytest.approx(in_bands, abs=6)
    assert abs(hot.labels[0] - HOT[0]) < 300
    held = fitter._held_fitters[(EXTRA_MASK,)]
    assert held.options.masked_bands[-2:] == ((5880.0, 5905.0), (6270.0, 6300.0)) and not held.rules.active
    both = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults,
                                          {**base, "masked_bands_outside": MASK, "blue_limit_outside": BLUE}))
    batch = both.fit_batch([hot_spec, cool_spec], batched=True)
    assert list(both._held_fitters) == [(BLUE_LIMIT, EXTRA_MASK)]
    assert batch[0].n_pixels < hot.n_pixels and batch[1].n_pixels == cool.n_pixels
    with pytest.raises(ValueError, match="masked_bands_outside"):
        Fitter(toy_boss, FitOptions(presearch_points=256, masked_bands_outside={**MASK, "bands": []}))
    with pytest.raises(ValueError, match="masked_bands_outside"):
        Fitter(toy_boss, FitOptions(presearch_points=256, masked_bands_outside={**MASK, "label": "t_eff"}))


def test_a_refit_back_inside_the_range_far_from_the_first_fit_is_flagged(toy_boss):
    """``REFIT_DISAGREES``: a spectrum whose blue part is a hot star's and whose red part a
    cool star's fits hot with every pixel and cool from the rule's blue limit — no labels
    agree with the rule, and the row is bad; a hot star of one piece is not flagged, and
    ``refit_shift_max=None`` never flags. Joint (multi-epoch) fits are checked the same way."""
    import dataclasses

    from zeta_payne.fitting.flags import BAD_MASK, ResultFlags
    from zeta_payne.fitting.joint import JointOptions, fit_epochs

    at_2 = toy_boss.manifest.label_names.index("v_micro")
    hot_labels = np.where(np.arange(5) == at_2, 2.0, HOT)
    cool_labels = np.where(np.arange(5) == at_2, 2.0, COOL)

    def spliced(v_rad, seed):
        hot = simulate(toy_boss, BOSS_WAVELENGTH, hot_labels, v_rad=v_rad, snr=300, seed=seed)
        cool = simulate(toy_boss, BOSS_WAVELENGTH, cool_labels, v_rad=v_rad, snr=300, seed=seed)
        return dataclasses.replace(hot, flux=np.where(BOSS_WAVELENGTH < 8000.0, hot.flux, cool.flux))

    rule = {"presearch_points": 1024, "blue_limit_outside": {**BLUE, "value": 8000.0}}
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, rule))
    plain = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {"presearch_points": 1024}))
    spectrum = spliced(5.0, 0)
    first, result = plain.fit(spectrum), fitter.fit(spectrum)
    assert first.labels[0] > 11000.0 and result.labels[0] < 9000.0  # the rule contradicts itself
    assert result.flags & ResultFlags.REFIT_DISAGREES and result.flags & BAD_MASK
    assert "refit_disagrees" in result.as_row()["flag_names"]
    hot = fitter.fit(simulate(toy_boss, BOSS_WAVELENGTH, hot_labels, v_rad=5.0, snr=300))
    assert hot.labels[0] > 10000.0 and not hot.flags & ResultFlags.REFIT_DISAGREES
    lenient = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults,
                                             {**rule, "refit_shift_max": 0.5}))
    assert not lenient.fit(spectrum).flags & ResultFlags.REFIT_DISAGREES  # it moved less than 50 %
    never = Fitter(toy_boss, dataclasses.replace(fitter.options, refit_shift_max=None))
    assert not never.fit(spectrum).flags & ResultFlags.REFIT_DISAGREES
    epochs = fit_epochs(fitter, [spliced(-5.0, 1), spliced(12.0, 2)], JointOptions(single_fits=False))
    assert epochs.result.labels[0] < 9000.0 and epochs.flags & ResultFlags.REFIT_DISAGREES


def test_refit_disagrees_needs_the_crossing_and_the_shift(toy_boss):
    """The test itself: outside the range first, inside after, by more than the fraction."""
    fitter = Fitter(toy_boss, FitOptions(presearch_points=256, blue_limit_outside=BLUE))
    assert fitter.rules.disagrees({"teff": 11000.0}, {"teff": 9000.0})  # 18 %, crossed
    assert not fitter.rules.disagrees({"teff": 10300.0}, {"teff": 9800.0})  # crossed, 5 %
    assert not fitter.rules.disagrees({"teff": 14000.0}, {"teff": 11000.0})  # 21 %, not crossed
    assert not fitter.rules.disagrees({"teff": 9000.0}, {"teff": 12000.0})  # no rule fired
    assert not fitter.rules.disagrees({"teff": 11000.0}, {"teff": float("nan")})  # failed refit


def test_a_label_held_for_its_range_rule_is_not_flagged_unconstrained(toy_boss):
    """A label in both ``hold_outside`` and ``hold_unconstrained_at_edge`` (APOGEE from 3.3.5:
    v_micro held above 10 kK, and at 6–10 kK where a fit leaves it at an edge unconstrained):
    a hot star held for its teff carries no V_MICRO_UNCONSTRAINED, a cool star whose v_micro
    ran to the edge does, and both are held at the value."""
    from zeta_payne.fitting.flags import ResultFlags

    iv = toy_boss.manifest.label_names.index("v_micro")
    # every v_micro counts as unconstrained here (threshold ~0), so the edge alone decides
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {
        "presearch_points": 1024, "free": ["v_micro"], "hold_outside": HOLD,
        "unconstrained_error": {"v_micro": 1e-9}, "hold_unconstrained_at_edge": {"v_micro": 2.0}}))
    at_edge = simulate(toy_boss, BOSS_WAVELENGTH, [8000.0, 4.0, 30.0, 4.0, -0.2], v_rad=5.0, snr=200)
    hot = simulate(toy_boss, BOSS_WAVELENGTH, HOT, v_rad=5.0, snr=200)
    first = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {
        "presearch_points": 1024, "free": ["v_micro"], "unconstrained_error": {"v_micro": 1e-9}})
    ).fit(at_edge)
    assert first.flags & ResultFlags.V_MICRO_AT_EDGE and first.flags & ResultFlags.V_MICRO_UNCONSTRAINED
    held = fitter.fit(at_edge)
    assert held.labels[iv] == 2.0 and np.isnan(held.cov_e_labels[iv])
    assert held.flags & ResultFlags.V_MICRO_UNCONSTRAINED and not held.flags & ResultFlags.V_MICRO_AT_EDGE
    hot_fit = fitter.fit(hot)
    assert hot_fit.labels[iv] == 2.0 and not hot_fit.flags & ResultFlags.V_MICRO_UNCONSTRAINED
    batch = fitter.fit_batch([hot, at_edge], batched=True)
    assert [bool(r.flags & ResultFlags.V_MICRO_UNCONSTRAINED) for r in batch] == [False, True]


def test_joint_and_epoch_fits_hold_an_unconstrained_label_at_the_edge(toy_boss):
    """hold_unconstrained_at_edge applies to joint and multi-epoch fits as to one spectrum:
    visits whose joint v_micro runs to the box edge unconstrained are fitted again with it
    held (V_MICRO_UNCONSTRAINED, not V_MICRO_AT_EDGE); a hot star's joint fit, held for its
    teff, carries no V_MICRO_UNCONSTRAINED. Before, joint fits applied the range rules only."""
    from zeta_payne.fitting.flags import ResultFlags
    from zeta_payne.fitting.joint import JointOptions, fit_epochs, fit_joint

    iv = toy_boss.manifest.label_names.index("v_micro")
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {
        "presearch_points": 1024, "free": ["v_micro"], "hold_outside": HOLD,
        "unconstrained_error": {"v_micro": 1e-9}, "hold_unconstrained_at_edge": {"v_micro": 2.0}}))
    # noiseless visits made at the upper v_micro bound: the joint optimum is on it
    at_edge = [simulate(toy_boss, BOSS_WAVELENGTH, [8000.0, 4.0, 30.0, 4.0, -0.2], v_rad=v, seed=s)
               for s, v in ((1, 5.0), (2, -3.0))]
    hot = [simulate(toy_boss, BOSS_WAVELENGTH, HOT, v_rad=5.0, snr=200, seed=s) for s in (1, 2)]
    for result in (fit_epochs(fitter, at_edge, JointOptions(single_fits=False)).result,
                   fit_joint([fitter, fitter], at_edge).result):
        assert result.labels[iv] == 2.0
        assert result.flags & ResultFlags.V_MICRO_UNCONSTRAINED
        assert not result.flags & ResultFlags.V_MICRO_AT_EDGE
    hot_fit = fit_epochs(fitter, hot, JointOptions(single_fits=False)).result
    assert hot_fit.labels[iv] == 2.0 and not hot_fit.flags & ResultFlags.V_MICRO_UNCONSTRAINED


def test_a_refit_may_start_from_the_first_fit_instead_of_a_presearch(toy_boss, fitter):
    """``refit_start="first"``: the refit starts at the first fit's labels (the held one at its
    value) and RV without a pre-search, on both paths. (Where it ends is measured against the
    fresh pre-search's refit by ``benchmarks/refit_cost.py`` on the real bundles: on this toy,
    with a true v_micro of 3 held at 2, it can stop in a basin 1–2 % higher in χ².)"""
    iv = toy_boss.manifest.label_names.index("v_micro")
    spectra = [simulate(toy_boss, BOSS_WAVELENGTH, lab, v_rad=-8.0, snr=100, seed=k)
               for k, lab in enumerate((HOT, COOL, HOT))]
    from_first = Fitter(toy_boss, fitter.options.updated(refit_start="first"))
    first = from_first._fit_each(spectra[:1], None)[0]
    for batched in (False, True):
        fresh = fitter.fit_batch(spectra, batched=batched)
        quick = from_first.fit_batch(spectra, batched=batched)
        assert [r.labels[iv] == 2.0 for r in quick] == [True, False, True]
        assert quick[1].initial_labels.tolist() == fresh[1].initial_labels.tolist()  # not refitted
        for a, b in ((fresh[0], quick[0]), (fresh[2], quick[2])):
            assert b.timing["presearch"] < 0.01 * a.timing["presearch"]
            assert not b.flags & ResultFlags.UNCONVERGED and b.n_fev > 1
            assert abs(b.labels[0] - a.labels[0]) < 1000 and b.chi2 < 1.05 * a.chi2
    start = quick[0].initial_labels  # the first fit, v_micro put at its held value
    assert start[iv] == 2.0
    assert np.allclose(np.delete(start, iv), np.delete(first.labels, iv))
    assert quick[0].initial_v_rad == pytest.approx(first.v_rad)
    with pytest.raises(ValueError, match="refit_start"):
        Fitter(toy_boss, fitter.options.updated(refit_start="nowhere"))


def test_given_starts_replace_the_presearch_and_bad_ones_fall_back_to_it(toy_boss, fitter):
    spectra = [simulate(toy_boss, BOSS_WAVELENGTH, COOL, v_rad=3.0, snr=100, seed=k) for k in range(2)]
    start = (COOL + np.array([300.0, -0.2, 10.0, -0.5, 0.1]), 10.0)
    for batched in (False, True):
        given = fitter.fit_batch(spectra, batched=batched, starts=[start, start])
        assert all(r.timing["presearch"] < 1e-3 for r in given)
        assert all(np.allclose(r.initial_labels, start[0]) and r.initial_v_rad == 10.0 for r in given)
        assert all(abs(r.labels[0] - COOL[0]) < 250 for r in given)
        mixed = fitter.fit_batch(spectra, batched=batched, starts=[start, (start[0] * np.nan, 0.0)])
        assert mixed[0].timing["presearch"] == 0.0 and mixed[1].timing["presearch"] > 1e-3
    outside = (np.array([40000.0, 1.0, -5.0, 9.0, 3.0]), 900.0)  # clipped into the box
    for batched in (False, True):
        clipped = fitter.fit_batch(spectra, batched=batched, starts=[outside, outside])
        assert all(np.all(r.initial_labels <= fitter.upper) and np.all(r.initial_labels >= fitter.lower)
                   and np.isfinite(r.labels).all() and r.initial_v_rad < 900.0 for r in clipped)
    with pytest.raises(ValueError, match="starts"):
        fitter.fit_batch(spectra, starts=[start])
