"""Table 3's noise floor: each cell's RMS against the RMS of its fits' formal errors."""

import numpy as np

from zeta_payne.fitting import Fitter
from zeta_payne.fitting.options import merge_options

from ..conftest import BOSS_WAVELENGTH, simulate


def test_formal_errors_take_the_rchi2_factor_out_and_skip_held_labels(toy_boss, tmp_path):
    from zeta_payne.validation.own_errors import formal_errors
    from zeta_payne.validation.report import table3_rows, write_report

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 0)
    n = study.rchi2.size
    study.rchi2 = np.linspace(0.5, 4.0, n)
    names = list(study.label_names)
    it = names.index("teff")
    expected = study.cov_e_labels[:, it] / np.sqrt(study.rchi2)
    np.testing.assert_allclose(formal_errors(study, "teff"), expected)
    np.testing.assert_allclose(formal_errors(study, "v_rad"), study.cov_e_v_rad / np.sqrt(study.rchi2))
    # a fit that held the label at a fixed value has no formal error and leaves both RMS
    study.cov_e_labels[: n // 4, it] = np.nan
    rows = {r["label"]: r for r in table3_rows([study])}
    teff = rows["teff"]
    assert teff["n_matched"] <= n - n // 4
    d = study.labels[:, it] - study.true_labels[:, it]
    from zeta_payne.validation.statistics import converged

    matched = converged(d) & np.isfinite(expected) & (np.arange(n) >= n // 4)
    assert teff["n_matched"] == matched.sum()
    np.testing.assert_allclose(teff["rms_formal"], np.sqrt(np.mean(expected[matched] ** 2)))
    np.testing.assert_allclose(teff["rms_matched"], np.sqrt(np.mean(d[matched] ** 2)))
    write_report([study], tmp_path / "study")
    text = (tmp_path / "study" / "report.md").read_text()
    assert "## The noise floor" in text
    assert f"({teff['rms_matched'] / teff['rms_formal']:.2f}; {teff['n_matched']})" in text


def test_fits_of_the_networks_own_spectra_scatter_as_their_formal_errors(toy_boss):
    """With the network as the truth there is no model error: the RV's scatter over fits at
    S/N 50 is its formal error's RMS (the fitter is efficient), within the sampling error."""
    rng = np.random.default_rng(11)
    fitter = Fitter(toy_boss, merge_options(toy_boss.manifest.fit_defaults, {"presearch_points": 512}))
    box = np.array([[s.lower, s.upper] for s in toy_boss.labels])
    free = np.array([s.free for s in toy_boss.labels])
    deltas, formal = [], []
    for k in range(40):
        labels = box[:, 0] + (0.2 + 0.6 * rng.uniform(size=len(box))) * (box[:, 1] - box[:, 0])
        labels = np.where(free, labels, [s.value if s.value is not None else 0.0 for s in toy_boss.labels])
        rv = float(rng.uniform(-40, 40))
        spectrum = simulate(toy_boss, BOSS_WAVELENGTH, labels, v_rad=rv, snr=50, seed=100 + k)
        result = fitter.fit(spectrum)
        deltas.append(result.v_rad - rv)
        formal.append(result.cov_e_v_rad / np.sqrt(result.rchi2))
    deltas, formal = np.array(deltas), np.array(formal)
    ratio = np.sqrt(np.mean(deltas**2)) / np.sqrt(np.mean(formal**2))
    # 40 Gaussian draws: the RMS is known to ~11 %; a fit missing information would sit far above
    assert 0.7 < ratio < 1.4, ratio


def test_within_own_errors_counts_each_fit_against_its_reported_error(toy_boss, tmp_path):
    from zeta_payne.validation.own_errors import within_own_errors
    from zeta_payne.validation.report import table3_rows, write_report

    from .test_calibration import _study

    study = _study(toy_boss, 100.0, 1)
    it = list(study.label_names).index("teff")
    d = study.labels[:, it] - study.true_labels[:, it]
    study.e_labels[:, it] = np.abs(d) / 3.0  # every teff within 3 of its own error ...
    study.e_labels[:5, it] = np.abs(d[:5]) / 5.0  # ... but five at 5
    assert within_own_errors(study, "teff").sum() == d.size - 5
    study.e_v_rad = np.abs(study.v_rad - study.true_rv) / 4.5  # every RV outside 4
    study.v_rad[:3] = study.true_rv[:3]  # but exact ones (Δ = 0) count as within
    assert within_own_errors(study, "v_rad").sum() == 3
    rows = {r["label"]: r for r in table3_rows([study])}
    assert rows["teff"]["reliability_own_errors"] == (d.size - 5) / d.size
    assert rows["all"]["reliability_own_errors"] <= 3 / d.size
    write_report([study], tmp_path / "study")
    text = (tmp_path / "study" / "report.md").read_text()
    share = 100 * rows["all"]["reliability_own_errors"]
    assert f"| within 4 own errors (all labels) | {share:.1f} % |" in text


def test_a_label_held_as_unconstrained_makes_no_claim(toy_boss):
    from zeta_payne.fitting.flags import ResultFlags
    from zeta_payne.validation.own_errors import within_own_errors

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 2)
    im = list(study.label_names).index("m_h")
    study.labels[:, im] = study.true_labels[:, im] + 1.0  # every [M/H] 1 dex off ...
    study.e_labels[:, im] = 0.1  # ... with a claimed error of 0.1: outside
    study.e_labels[:6, im] = np.nan  # no error: outside, unless the flag says why
    study.flags[:4] |= int(ResultFlags.M_H_UNCONSTRAINED)
    within = within_own_errors(study, "m_h")
    assert within[:4].all() and not within[4:].any()


def test_table3_against_the_paper_says_where_the_sample_cannot_tell(toy_boss, tmp_path):
    """The verdict of each cell follows the bootstrap interval: a cell whose 95 % interval
    holds the paper's figure is 'within', one whose interval lies wholly above it 'above'."""
    from zeta_payne.validation.report import table3_rows, write_report

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 0)
    rows = [r for r in table3_rows([study]) if np.isfinite(r.get("paper_rms", np.nan))]
    assert rows, "the toy study's labels have paper figures at S/N 50"
    for r in rows:
        assert r["rms_lo95"] <= r["rms_lo68"] <= r["rms_hi68"] <= r["rms_hi95"]
    write_report([study], tmp_path / "study")
    text = (tmp_path / "study" / "report.md").read_text()
    assert "## Table 3 against the paper, with sampling intervals" in text
    for r in rows:
        line = next(
            ln for ln in text.splitlines() if ln.startswith(f"| BOSS | {r['snr']} | {r['label']} |")
        )
        expected = (
            "above the paper"
            if r["paper_rms"] < r["rms_lo95"]
            else "below the paper"
            if r["paper_rms"] > r["rms_hi95"]
            else "within"
        )
        assert line.endswith(f"| {expected} |"), line


def test_the_information_limit_reliability_is_the_papers_band_on_gaussian_draws(toy_boss, tmp_path):
    """Fits scattering as their formal errors pass the paper's ±4σ band almost always when
    every star has the same error, and fail it at the rate the mixture of errors predicts when
    a tenth of the stars have ten times the error (the band is one for all of them)."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    from zeta_payne.validation.own_errors import information_limit_reliability
    from zeta_payne.validation.report import table3_rows, write_report

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 4)
    labels = ["teff", "logg", "v_rad"]
    even = information_limit_reliability(study, labels, draws=100)
    assert even["all"].mean() > 0.99
    it = list(study.label_names).index("teff")
    wide = np.arange(study.rchi2.size) % 10 == 0
    study.cov_e_labels[wide, it] *= 10.0
    limit = information_limit_reliability(study, labels, draws=200)
    # the band is 4 × P84 of the mixture 0.9 N(0, σ) + 0.1 N(0, 10 σ); only the wide ones fall out
    p84 = brentq(lambda x: 0.9 * norm.cdf(x) + 0.1 * norm.cdf(x / 10) - 0.84, 0.5, 3.0)
    expected = 1.0 - 0.1 * 2 * norm.cdf(-4 * p84 / 10) - 0.9 * 2 * norm.cdf(-4 * p84)
    assert abs(limit["teff"].mean() - expected) < 0.02, (limit["teff"].mean(), expected)
    assert limit["all"].mean() <= limit["teff"].mean() + 1e-12
    rows = {r["label"]: r for r in table3_rows([study])}
    every = rows["all"]
    assert every["reliability_limit_lo"] <= every["reliability_limit"] <= every["reliability_limit_hi"]
    write_report([study], tmp_path / "study")
    text = (tmp_path / "study" / "report.md").read_text()
    assert "| reliability at the information limit (all labels) | " in text
    # the band scales with the errors: ten times smaller errors, the same figure (draw by draw)
    study.cov_e_labels = study.cov_e_labels / 10.0
    study.cov_e_v_rad = study.cov_e_v_rad / 10.0
    smaller = information_limit_reliability(study, labels, draws=200)
    np.testing.assert_array_equal(smaller["all"], limit["all"])


def test_the_rank_correlation_tells_errors_that_follow_the_formal_ones(toy_boss):
    from zeta_payne.validation.own_errors import formal_errors, formal_rank_correlation

    from .test_calibration import _study

    study = _study(toy_boss, 50.0, 6)
    rng = np.random.default_rng(6)
    it = list(study.label_names).index("teff")
    study.cov_e_labels[:, it] *= rng.uniform(0.2, 5.0, study.rchi2.size)  # stars differ
    sigma = formal_errors(study, "teff")
    study.labels[:, it] = study.true_labels[:, it] + sigma * rng.standard_normal(sigma.size)
    assert formal_rank_correlation(study, "teff") > 0.5  # errors that follow each star's own
    study.labels[:, it] = study.true_labels[:, it] + np.median(sigma) * rng.standard_normal(sigma.size)
    assert abs(formal_rank_correlation(study, "teff")) < 0.2  # the same size for every star
