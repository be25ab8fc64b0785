"""The realistic observation model of the simulation study (validation/observe.py and its parts)."""

import numpy as np
import pytest

from zeta_payne.io.sdss.common import bad_pixel_bits
from zeta_payne.io.sdss.layout import APOGEE_BAD_PIXEL_BITS, APOGEE_SKY_PIXEL_BITS, BOSS_BAD_PIXEL_BITS
from zeta_payne.validation.extinction import ccm89, reddening
from zeta_payne.validation.instrument import (
    APOGEE_CHIPS,
    BOSS_R_RANGE,
    detector_coverage,
    resolving_power,
    throughput,
)
from zeta_payne.validation.lines import render_lines
from zeta_payne.validation.observe import ObservationModel, observe_realistic, realistic_spectrum
from zeta_payne.validation.resample import convolve_to_pixels
from zeta_payne.validation.sed import planck_flambda
from zeta_payne.validation.simulate import instrument_pixels


def _model(instrument):
    """A flat model spectrum with a few absorption lines at a high R_model over the instrument's range."""
    lo, hi, r_model = {"boss": (3500.0, 10500.0, 20000.0), "apogee": (15000.0, 17100.0, 80000.0)}[instrument]
    step = 1.0 / (3.0 * r_model)
    lam = np.exp(np.arange(np.log(lo), np.log(hi), step))
    centres = np.linspace(lo + 50, hi - 50, 40)
    flux = 1.0 - render_lines(lam, lam / r_model, centres, np.full(centres.size, 0.5))
    return lam, flux, r_model


# --------------------------------------------------------------- extinction
def test_ccm89_known_values():
    # V: A/A_V = 1; B − V: 1/R_V by construction; J (1.25 μm): 0.282 (CCM89 Table 3)
    assert ccm89([5494.5])[0] == pytest.approx(1.0, abs=0.01)
    for r_v in (3.1, 5.0):
        b_minus_v = ccm89([4405.0], r_v)[0] - ccm89([5495.0], r_v)[0]
        assert b_minus_v == pytest.approx(1.0 / r_v, rel=0.03)
    assert ccm89([12500.0])[0] == pytest.approx(0.282, abs=0.003)
    # the H band: A_H/A_V ≈ 0.18–0.19
    assert 0.17 < ccm89([16500.0])[0] < 0.20
    with pytest.raises(ValueError):
        ccm89([2000.0])


def test_reddening_is_a_colour_excess():
    lam = np.array([4405.0, 5495.0])
    t = reddening(lam, 0.5)
    assert -2.5 * np.log10(t[0] / t[1]) == pytest.approx(0.5, rel=0.03)
    assert np.all(reddening(lam, 0.0) == 1.0)


def test_planck_slope():
    lam = np.linspace(3600, 10400, 500)
    hot, cool = planck_flambda(lam, 25000.0), planck_flambda(lam, 6000.0)
    assert hot.max() == pytest.approx(1.0) and np.argmax(hot) == 0  # Rayleigh–Jeans side: blue peak
    assert 4500 < lam[np.argmax(cool)] < 5000  # Wien: λ_max = 2.898e7 / T Å = 4,830 Å


# --------------------------------------------------------------- instrument
def test_boss_throughput_shape():
    lam, _ = instrument_pixels("boss")
    t = throughput("boss", lam)
    assert t.max() / t[lam < 3700].min() > 4  # factors of several: low in the blue
    assert t.max() / t[lam > 10300].min() > 5  # and in the far red
    assert 4500 < lam[np.argmax(t)] < 8500


def test_apogee_chips_and_gaps():
    lam, ok = instrument_pixels("apogee")
    on = detector_coverage("apogee", lam)
    t = throughput("apogee", lam)
    assert np.all(t[~on] == 0) and np.all(t[on] > 0)
    gaps = [(APOGEE_CHIPS[k][1], APOGEE_CHIPS[k + 1][0]) for k in range(2)]
    for a, b in gaps:
        assert not on[(lam > a) & (lam < b)].any()
    means = [t[(lam >= a) & (lam <= b)].mean() for a, b in APOGEE_CHIPS]
    assert len({round(m, 4) for m in means}) == 3  # three chips, three throughputs


def test_resolving_power_ranges():
    lam, _ = instrument_pixels("boss")
    r = resolving_power("boss", lam)
    assert BOSS_R_RANGE[0] <= r.min() < 1650 and 2550 < r.max() <= BOSS_R_RANGE[1]
    lam, _ = instrument_pixels("apogee")
    r = resolving_power("apogee", lam[detector_coverage("apogee", lam)])
    assert 0.95 * 22500 < r.min() and r.max() < 1.05 * 22500
    assert r.max() / r.min() > 1.03  # it varies: a few per cent


# --------------------------------------------------------------- resampling
def test_differential_gaussian_reaches_the_instrument_width():
    lam, _, r_model = _model("boss")
    centre = 6000.0
    flux = 1.0 - render_lines(lam, lam / r_model, [centre], [0.5])  # one line at R_model
    pix = np.linspace(5980, 6020, 801)
    out, covered = convolve_to_pixels(lam, flux, r_model, pix, np.full(pix.size, 2000.0))
    assert covered.all()
    depth = 1.0 - out
    half = pix[depth >= 0.5 * depth.max()]
    assert half[-1] - half[0] == pytest.approx(centre / 2000.0, rel=0.03)  # FWHM = λ/R
    with pytest.raises(ValueError):
        convolve_to_pixels(lam, flux, r_model, pix, np.full(pix.size, 40000.0))


# --------------------------------------------------------------- observation
@pytest.mark.parametrize("instrument", ["boss", "apogee"])
def test_median_snr_is_the_nominal(instrument):
    lam, flux, r_model = _model(instrument)
    for snr in (50.0, 100.0):
        pixels, truth = observe_realistic(lam, flux, r_model, instrument, 12000.0, 20.0, snr,
                                          np.random.default_rng(3))
        ok = truth["usable"]
        assert np.median(truth["snr_pixel"][ok]) == pytest.approx(snr, rel=1e-9)
        # the realised S/N (noisy flux) too, to the noise of a median
        realised = pixels["flux"] * np.sqrt(pixels["ivar"])
        assert np.median(realised[ok]) == pytest.approx(snr, rel=0.02)
        # S/N varies with wavelength: far from constant
        s = truth["snr_pixel"][ok]
        assert np.percentile(s, 95) / np.percentile(s, 5) > 1.5


def test_masks_give_ivar_zero_and_flags():
    lam, flux, r_model = _model("boss")
    args = (lam, flux, r_model, "boss", 9000.0, -10.0, 100.0)
    pixels, truth = observe_realistic(*args, np.random.default_rng(0))
    bad = (pixels["pixel_flags"] & BOSS_BAD_PIXEL_BITS) != 0
    assert np.all(pixels["ivar"][bad] == 0) and np.all(pixels["ivar"][~bad] > 0)
    assert 0.01 < bad.mean() < 0.06  # a few per cent
    brightsky = (pixels["pixel_flags"] & (1 << 23)) != 0
    assert brightsky.any() and pixels["wavelength"][brightsky].min() > 5500
    # as a file reads: flags become the pixel mask (sky-dominated pixels too), wresl the LSF
    spectrum, _ = realistic_spectrum(*args, np.random.default_rng(0))
    assert np.array_equal(spectrum.pixel_mask, bad | brightsky)
    assert (pixels["pixel_flags"] & bad_pixel_bits("boss") != 0).sum() == (bad | brightsky).sum()
    assert np.allclose(spectrum.lsf_fwhm, truth["fwhm"])
    r = spectrum.wavelength / spectrum.lsf_fwhm
    assert 0.9 * BOSS_R_RANGE[0] < r.min() and r.max() < 1.1 * BOSS_R_RANGE[1]


def test_apogee_sky_line_pixels_stay_in_the_file_and_out_of_the_fit():
    lam, flux, r_model = _model("apogee")
    args = (lam, flux, r_model, "apogee", 9000.0, 25.0, 100.0)
    pixels, truth = observe_realistic(*args, np.random.default_rng(4))
    bad = (pixels["pixel_flags"] & APOGEE_BAD_PIXEL_BITS) != 0
    skyline = (pixels["pixel_flags"] & APOGEE_SKY_PIXEL_BITS) != 0
    # the pipeline keeps them (ivar > 0); a few per cent of the detector pixels
    assert skyline.any() and np.all(pixels["ivar"][skyline & ~bad] > 0)
    assert 0.005 < (skyline & ~bad).mean() < 0.15
    spectrum, _ = realistic_spectrum(*args, np.random.default_rng(4))
    assert not spectrum.usable()[skyline].any()
    assert (pixels["pixel_flags"] & bad_pixel_bits("apogee") != 0).sum() == (bad | skyline).sum()


def test_apogee_file_carries_no_lsf_and_masks_the_gaps():
    lam, flux, r_model = _model("apogee")
    spectrum, truth = realistic_spectrum(lam, flux, r_model, "apogee", 15000.0, 5.0, None,
                                         np.random.default_rng(1))
    assert spectrum.lsf_fwhm is None
    ok = spectrum.usable()
    for a, b in ((15808.0, 15865.0), (16432.0, 16488.0)):
        assert not ok[(spectrum.wavelength > a) & (spectrum.wavelength < b)].any()
    assert ObservationModel(report_lsf=True).value("report_lsf", "apogee") is True


def test_noiseless_flux_is_response_times_spectrum():
    lam, flux, r_model = _model("boss")
    model = ObservationModel(sky=False, telluric=False)
    rng = np.random.default_rng(2)
    pixels, truth = observe_realistic(lam, flux, r_model, "boss", 20000.0, 0.0, None, rng, model)
    ok = truth["usable"]
    power = pixels["wavelength"] / truth["fwhm"]
    norm, _ = convolve_to_pixels(lam, flux, r_model, pixels["wavelength"], power)
    assert np.allclose(pixels["flux"][ok], (truth["response"] * norm)[ok], rtol=1e-9)
    # the response is a reddened hot blackbody: steep, smooth, positive
    resp = truth["response"][ok]
    assert resp.max() / resp.min() > 2


def test_idealised_options_switch_parts_off():
    lam, flux, r_model = _model("boss")
    a, _ = observe_realistic(lam, flux, r_model, "boss", 20000.0, 0.0, None, np.random.default_rng(5),
                             ObservationModel(sky=False, telluric=False))
    b, _ = observe_realistic(lam, flux, r_model, "boss", 20000.0, 0.0, None, np.random.default_rng(5))
    red = (a["wavelength"] > 7590) & (a["wavelength"] < 7700) & (a["ivar"] > 0) & (b["ivar"] > 0)
    assert not np.allclose(a["flux"][red], b["flux"][red], rtol=1e-3)  # the A band's residual


def test_lsf_wings_make_lines_shallower_and_keep_their_width_reported():
    lam, flux, r_model = _model("boss")
    out = {}
    for fraction in (0.0, 0.2):
        model = ObservationModel(sky=False, telluric=False, lsf_scatter=0.0, lsf_wing_fraction=fraction)
        pixels, truth = observe_realistic(lam, flux, r_model, "boss", 20000.0, 0.0, None,
                                          np.random.default_rng(3), model)
        ok = truth["usable"]
        out[fraction] = (pixels["flux"][ok] / truth["response"][ok], pixels["wresl"][ok])
    (plain, fwhm0), (winged, fwhm1) = out[0.0], out[0.2]
    assert np.allclose(fwhm0, fwhm1)  # wresl stays the core's
    depth0, depth1 = 1 - plain.min(), 1 - winged.min()
    assert 0.70 * depth0 < depth1 < 0.92 * depth0  # shallower by about the wing fraction
    assert abs(np.sum(1 - winged) - np.sum(1 - plain)) < 0.03 * np.sum(1 - plain)  # same EW


def test_exclude_bits_leave_flagged_pixels_out_of_the_fit_not_out_of_the_file():
    lam, flux, r_model = _model("apogee")
    args = (lam, flux, r_model, "apogee", 15000.0, 5.0, 100.0)
    plain, _ = realistic_spectrum(*args, np.random.default_rng(2))
    telluric = 1 << 13  # SIG_TELLURIC: informational, kept by the reader's defaults
    masked, _ = realistic_spectrum(*args, np.random.default_rng(2), ObservationModel(exclude_bits=telluric))
    pixels, _ = observe_realistic(*args, np.random.default_rng(2), ObservationModel(exclude_bits=telluric))
    flagged = (pixels["pixel_flags"] & telluric) != 0
    assert flagged.any() and plain.usable()[flagged].any()
    assert not masked.usable()[flagged].any()
    np.testing.assert_array_equal(masked.usable(), plain.usable() & ~flagged)
    np.testing.assert_array_equal(masked.ivar, plain.ivar)
