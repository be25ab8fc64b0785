"""One preparation step: the LSF's precedence, and rejections that carry their flags."""

import numpy as np
import pytest

from zeta_payne.exceptions import SpectrumError, SpectrumRejected
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.options import FitOptions, merge_options
from zeta_payne.fitting.preparation import lsf_fwhm, prepare
from zeta_payne.spectrum import Spectrum

from ..conftest import BOSS_WAVELENGTH

LAM = BOSS_WAVELENGTH
WRESL = LAM / np.linspace(1500.0, 2600.0, LAM.size)


def spectrum(lsf=WRESL, ivar=None):
    return Spectrum(LAM, np.ones(LAM.size), np.ones(LAM.size) if ivar is None else ivar, lsf_fwhm=lsf)


def run(toy_boss, spec, **changes):
    options = merge_options(toy_boss.manifest.fit_defaults, changes)
    return prepare(spec, options, toy_boss.grid, options.wavelength_range, 20)


def test_spectrum_lsf_wins_over_the_bundle_default(toy_boss):
    prep = run(toy_boss, spectrum())
    assert prep.lsf_source == "spectrum" and not prep.flags & ResultFlags.LSF_FROM_BUNDLE
    np.testing.assert_array_equal(prep.fwhm, WRESL)


def test_no_spectrum_lsf_falls_back_to_the_bundle_with_a_flag(toy_boss):
    prep = run(toy_boss, spectrum(lsf=None))
    assert prep.lsf_source == "bundle" and prep.flags & ResultFlags.LSF_FROM_BUNDLE
    np.testing.assert_allclose(prep.fwhm, LAM / toy_boss.manifest.fit_defaults["resolution"])


def test_explicit_resolution_overrides_without_the_flag(toy_boss):
    prep = run(toy_boss, spectrum(), resolution=1234.0)
    assert prep.lsf_source == "option" and not prep.flags & ResultFlags.LSF_FROM_BUNDLE
    np.testing.assert_allclose(prep.fwhm, LAM / 1234.0)
    assert prep.resolution == pytest.approx(1234.0)


def test_lsf_gaps_are_interpolated_and_no_lsf_at_all_raises():
    w = WRESL.copy()
    w[100:110] = np.nan
    fwhm, source = lsf_fwhm(spectrum(lsf=w), FitOptions())
    assert source == "spectrum" and np.all(np.isfinite(fwhm))
    with pytest.raises(SpectrumError, match="no LSF"):
        lsf_fwhm(spectrum(lsf=None), FitOptions())


def test_rejections_carry_their_flags(toy_boss):
    with pytest.raises(SpectrumRejected) as info:
        run(toy_boss, spectrum(ivar=np.zeros(LAM.size)))
    assert info.value.flags & ResultFlags.NO_PIXELS
    ivar = np.zeros(LAM.size)
    ivar[2000:2030] = 1.0
    with pytest.raises(SpectrumRejected) as info:
        run(toy_boss, spectrum(lsf=None, ivar=ivar))
    # the warning found before the rejection travels with it
    assert info.value.flags == ResultFlags.TOO_FEW_PIXELS | ResultFlags.LSF_FROM_BUNDLE
    ir = np.linspace(15100, 16900, 3000)
    with pytest.raises(SpectrumRejected) as info:
        run(toy_boss, Spectrum(ir, np.ones(ir.size), np.ones(ir.size)))
    assert info.value.flags & ResultFlags.OUTSIDE_COVERAGE


def test_spectrum_frame_is_checked():
    assert Spectrum(LAM, np.ones(LAM.size), np.ones(LAM.size), frame="observed").frame == "observed"
    with pytest.raises(SpectrumError, match="frame"):
        Spectrum(LAM, np.ones(LAM.size), np.ones(LAM.size), frame="barycentric")


def test_masked_bands_leave_their_pixels_out_in_the_observatory_frame(toy_boss):
    band = (7595.0, 7700.0)
    inside = (LAM >= band[0]) & (LAM <= band[1])
    observed = Spectrum(LAM, np.ones(LAM.size), np.ones(LAM.size), lsf_fwhm=WRESL, frame="observed")
    plain = run(toy_boss, observed)
    masked = run(toy_boss, observed, masked_bands=[band])
    assert plain.used[inside].all()
    np.testing.assert_array_equal(masked.used, plain.used & ~inside)


def test_masked_bands_widen_by_the_margin_where_the_frame_is_not_observed(toy_boss):
    band, margin = (7595.0, 7700.0), 300.0
    shift = margin / 299_792.458
    wide = (LAM >= band[0] * (1 - shift)) & (LAM <= band[1] * (1 + shift))
    assert wide.sum() > ((LAM >= band[0]) & (LAM <= band[1])).sum() + 8  # ±7.7 Å at 7,650 Å
    for frame in ("rest", None):
        spec = Spectrum(LAM, np.ones(LAM.size), np.ones(LAM.size), lsf_fwhm=WRESL, frame=frame)
        prep = run(toy_boss, spec, masked_bands=[band], masked_band_margin=margin)
        assert not prep.used[wide].any() and prep.used[~wide & (LAM > 4600) & (LAM < 10000)].all()


def test_error_floor_bands_add_a_relative_error_in_quadrature(toy_boss):
    band, fraction = (8950.0, 9800.0), 0.02
    rng = np.random.default_rng(5)
    flux = 2.0 + 0.1 * rng.standard_normal(LAM.size)
    ivar = np.full(LAM.size, 1.0 / 0.01**2)  # S/N 200
    observed = Spectrum(LAM, flux, ivar, lsf_fwhm=WRESL, frame="observed")
    plain = run(toy_boss, observed)
    floored = run(toy_boss, observed, error_floor_bands=[(*band, fraction)])
    np.testing.assert_array_equal(floored.used, plain.used)  # a floor keeps every pixel
    lam = LAM[plain.used]
    inside = (lam >= band[0]) & (lam <= band[1])
    assert inside.sum() > 50
    # outside: untouched; inside: 1/w = σ² + (fraction·f)², in the prepared (scaled) units
    np.testing.assert_array_equal(floored.weight[~inside], plain.weight[~inside])
    f = floored.flux[inside]
    expected = 1.0 / (1.0 / plain.weight[inside] + (fraction * np.abs(f)) ** 2)
    np.testing.assert_allclose(floored.weight[inside], expected, rtol=1e-12)
    # at S/N 200 a 2 % floor dominates: weights fall about 17-fold
    assert 10 < np.median(plain.weight[inside] / floored.weight[inside]) < 25
    # a rest-frame spectrum's band is widened by the margin, as masked bands are
    rest = Spectrum(LAM, flux, ivar, lsf_fwhm=WRESL, frame="rest")
    wide = run(toy_boss, rest, error_floor_bands=[(*band, fraction)])
    assert (wide.weight < plain.weight).sum() > inside.sum() + 8
