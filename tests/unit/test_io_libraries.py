"""Helpers of the empirical-library readers: DER_SNR, constant-S/N ivar, LSF degradation,
and the MILES / STELIB readers on tiny files written here."""

from __future__ import annotations

import numpy as np
import pytest

from zeta_payne.io.libraries import FWHM_PER_SIGMA, degrade_resolution, der_snr, ivar_from_snr, target_fwhm


def test_der_snr_recovers_white_noise():
    rng = np.random.default_rng(1)
    flux = 100.0 + rng.normal(0.0, 2.0, 20000)
    assert der_snr(flux) == pytest.approx(50.0, rel=0.05)
    assert np.isnan(der_snr([1.0, 2.0]))
    assert der_snr(np.ones(100)) == np.inf


def test_ivar_from_snr():
    ivar = ivar_from_snr([10.0, 20.0, 0.0, -1.0], 100.0)
    np.testing.assert_allclose(ivar, [100.0, 25.0, 0.0, 0.0])


def test_degrade_resolution_flat_and_width():
    lam = np.arange(4500.0, 7500.0, 0.9)
    flat, fwhm = degrade_resolution(lam, np.full(lam.size, 3.0), 2.5, 2000.0)
    np.testing.assert_allclose(flat, 3.0)
    np.testing.assert_allclose(fwhm, target_fwhm(lam, 2.5, 2000.0))
    # a narrow line at 7000 Å (native σ = 2.5/2.3548 Å) comes out with FWHM 7000/2000 = 3.5 Å
    sig0 = 2.5 / FWHM_PER_SIGMA
    line = 1.0 - 0.5 * np.exp(-0.5 * ((lam - 7000.0) / sig0) ** 2)
    out, _ = degrade_resolution(lam, line, 2.5, 2000.0)
    depth = 1.0 - out
    sigma = np.sqrt(np.sum(depth * (lam - 7000.0) ** 2) / np.sum(depth))
    assert sigma * FWHM_PER_SIGMA == pytest.approx(3.5, rel=0.02)
    assert np.sum(depth) == pytest.approx(np.sum(1.0 - line), rel=1e-3)  # equivalent width kept
    # where λ/R is below the native FWHM nothing changes
    blue = lam < 4900
    np.testing.assert_allclose(out[blue], line[blue])


def _write_fits(path, data, cards):
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.asarray(data))
    for k, v in cards.items():
        hdu.header[k] = v
    hdu.writeto(path)


PARAMS = """\
Name                  MILES   CaT   SpT            Teff   log g   [Fe/H]  Refs   Libraries
                      s????
 - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - --
HD002857               0018         A2 (HB)         7569   2.60    -1.60   331         L     I
HD013267               0078         B5Ia           13800   2.44     --     66            E
"""


def test_miles_reader(tmp_path):
    from zeta_payne.io.miles import read_miles_params
    from zeta_payne.io.registry import read_spectra

    params_file = tmp_path / "paramsMILES_v9.1.txt"
    params_file.write_text(PARAMS)
    params = read_miles_params(params_file)
    assert params["0018"].teff == 7569 and params["0018"].logg == 2.6 and params["0018"].feh == -1.6
    assert params["0018"].spectral_type == "A2 (HB)" and params["0018"].refs == "331"
    assert params["0078"].teff == 13800 and np.isnan(params["0078"].feh)

    path = tmp_path / "MILES_res2.50_star_m0018V.fits"
    rng = np.random.default_rng(0)
    _write_fits(
        path,
        1.0 + 0.01 * rng.normal(size=500),
        {"TPLLIB": "MILES", "FWHM": 2.5, "CRPIX1": 1, "CRVAL1": 5000.0, "CDELT1": 0.9},
    )
    (spec,) = read_spectra(path)  # identified as MILES
    assert spec.frame == "rest"
    assert spec.wavelength[0] == pytest.approx(5001.39, abs=0.01)  # air → vacuum
    np.testing.assert_allclose(spec.lsf_fwhm, 2.5)
    assert spec.meta["snr_model"] == pytest.approx(100, rel=0.1)
    from zeta_payne.io.miles import read_miles

    (spec,) = read_miles(path, params=params)
    assert spec.meta["reference"]["teff"] == 7569


def test_stelib_reader(tmp_path):
    from zeta_payne.io.registry import read_spectra

    flux = np.r_[np.zeros(5), np.full(300, 2e-12), np.zeros(5)]
    path = tmp_path / "STELIB_v3.2_HD000001.fits"
    _write_fits(
        path,
        flux.astype(np.float32),
        {
            "CRVAL1": 6000.0,
            "CDELT1": 1.0,
            "CRPIX1": 1.0,
            "OBJECT": "HD000001",
            "SPECTYPE": "B9III",
            "TEFF": 11300,
            "LOG_G": "-",
            "FE_H": -0.1,
            "RADVEL": -13.9,
        },
    )
    (spec,) = read_spectra(path)
    ref = spec.meta["reference"]
    assert ref["teff"] == 11300 and np.isnan(ref["logg"]) and ref["m_h"] == -0.1 and ref["v_rad"] == -13.9
    assert spec.pixel_mask[:5].all() and not spec.pixel_mask[5:305].any()
    assert spec.frame == "rest"
