"""Readers and writers of SDSS spectrum products on generated fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.registry import read_spectra
from zeta_payne.io.sdss import (
    describe_file,
    load_mwm_pixels,
    write_apstar,
    write_apvisit,
    write_boss_spec,
    write_mwm,
)
from zeta_payne.io.sdss.boss_spec import FWHM_PER_SIGMA, wdisp_to_fwhm
from zeta_payne.io.sdss.layout import APOGEE_GRID, BOSS_GRID, mwm_hdu
from zeta_payne.io.sdss.paths import expand_path, mwm_path, sdss_id_groups


def _row(instrument, telescope, value, n=None):
    grid = BOSS_GRID if instrument == "boss" else APOGEE_GRID
    n = n or grid.n_pixels
    row = {
        "instrument": instrument,
        "telescope": telescope,
        "snr": 50.0 + value,
        "mjd": 60000 + int(value),
        "flux": np.full(n, value, np.float32),
        "ivar": np.full(n, 4.0, np.float32),
        "pixel_flags": np.zeros(n, np.int32),
    }
    if instrument == "boss":
        row["wresl"] = np.full(n, 2.5, np.float32)
    return row


def test_mwm_layout():
    assert mwm_hdu("boss", "apo25m") == 1
    assert mwm_hdu("boss", "lco25m") == 2
    assert mwm_hdu("apogee", "apo1m") == 3
    assert mwm_hdu("apogee", "lco25m") == 4
    assert BOSS_GRID.wavelength[0] == pytest.approx(10**3.5523)
    assert APOGEE_GRID.n_pixels == 8575


def test_mwm_star_round_trip(tmp_path):
    rows = [_row("boss", "lco25m", 7.0), _row("apogee", "apo25m", 3.0)]
    rows[0]["pixel_flags"][10] = 1 << 24  # NODATA: a bad BOSS pixel
    path = write_mwm(tmp_path / "mwmStar-0.8.0-42.fits", {"sdss_id": 42, "programs": "mwm_ob"}, rows)
    records = describe_file(path)
    assert [(r.kind, r.hdu, r.keywords["telescope"]) for r in records] == [
        ("BossCombinedSpectrum", 2, "lco25m"),
        ("ApogeeCombinedSpectrum", 3, "apo25m"),
    ]
    assert records[0].keywords["sdss_id"] == 42
    assert records[0].keywords["programs"] == "mwm_ob"
    spectra = read_spectra(path)
    assert [s.meta["instrument"] for s in spectra] == ["boss", "apogee"]
    boss, apogee = spectra
    np.testing.assert_allclose(boss.wavelength, BOSS_GRID.wavelength)
    np.testing.assert_allclose(boss.flux, 7.0)
    np.testing.assert_allclose(boss.lsf_fwhm, 2.5)
    assert boss.pixel_mask.sum() == 1 and boss.pixel_mask[10]
    assert apogee.lsf_fwhm is None
    np.testing.assert_allclose(apogee.wavelength, APOGEE_GRID.wavelength)


def test_mwm_visit_has_one_row_per_visit(tmp_path):
    rows = [_row("boss", "apo25m", 1.0), _row("boss", "apo25m", 2.0), _row("boss", "apo25m", 3.0)]
    path = write_mwm(tmp_path / "mwmVisit-0.8.0-43.fits", {"sdss_id": 43}, rows, filetype="mwmVisit")
    records = describe_file(path)
    assert [(r.kind, r.row) for r in records] == [("BossRestFrameVisitSpectrum", i) for i in range(3)]
    np.testing.assert_allclose(load_mwm_pixels(path, 1, 2)["flux"], 3.0)
    with pytest.raises(ValueError, match="one spectrum per extension"):
        write_mwm(tmp_path / "mwmStar-0.8.0-44.fits", {"sdss_id": 44}, rows)


def test_mwm_corrupt_files(products):
    with pytest.raises(SpectrumError, match="not a readable FITS"):
        describe_file(products["garbage"])
    # a truncated file is still described from its headers, but its pixels cannot be read
    (record,) = describe_file(products["truncated"])
    assert record.kind == "BossCombinedSpectrum"
    with pytest.raises(SpectrumError):
        load_mwm_pixels(record.path, record.hdu, record.row)
    (record,) = describe_file(products["wrong_length"])
    with pytest.raises(SpectrumError, match="header says 8575"):
        load_mwm_pixels(record.path, record.hdu, record.row)
    with pytest.raises(SpectrumError):
        read_spectra(products["truncated"])


def test_apstar_coadd_and_visits(tmp_path):
    flux = np.vstack([np.full(8575, v) for v in (10.0, 11.0, 1.0, 2.0)])
    err = np.full_like(flux, 0.5)
    err[2, 100] = 1e10  # APOGEE's "bad pixel" error
    mask = np.zeros(flux.shape, np.int32)
    mask[0, 5] = 1  # BADPIX
    keywords = {"obj": "2M00000000+0000000", "telescope": "apo25m", "n_visits": 2, "sdss_id": 7}
    path = write_apstar(tmp_path / "apStar-1.3-apo25m-2M00000000+0000000.fits", flux, err, mask, keywords)
    records = describe_file(path)
    assert [(r.kind, r.row) for r in records] == [
        ("ApogeeCoaddedSpectrumInApStar", 0),
        ("ApogeeVisitSpectrumInApStar", 2),
        ("ApogeeVisitSpectrumInApStar", 3),
    ]
    coadd, visit1, _ = read_spectra(path)
    np.testing.assert_allclose(coadd.flux, 10.0)
    np.testing.assert_allclose(coadd.ivar, 4.0)
    assert coadd.pixel_mask[5]
    np.testing.assert_allclose(visit1.flux, 1.0)
    assert visit1.ivar[100] == 0.0
    np.testing.assert_allclose(coadd.wavelength, APOGEE_GRID.wavelength)


def test_apvisit_is_flipped_to_increasing_wavelength(tmp_path):
    chips = [
        np.linspace(16950, 16470, 4096),
        np.linspace(16430, 15860, 4096),
        np.linspace(15800, 15140, 4096),
    ]
    wave = np.vstack(chips)  # reddest chip first, descending within a chip (as APOGEE writes)
    flux = wave / 1000.0
    path = write_apvisit(
        tmp_path / "apVisit-1.3-apo25m-1234-60000-001.fits",
        wave,
        flux,
        np.full_like(wave, 0.1),
        keywords={"telescope": "apo25m", "mjd": 60000, "fiber": 1, "v_rad": -12.0},
    )
    (record,) = describe_file(path)
    assert record.kind == "ApogeeVisitSpectrum" and record.keywords["mjd"] == 60000
    (spec,) = read_spectra(path)
    assert np.all(np.diff(spec.wavelength) > 0)
    np.testing.assert_allclose(spec.flux, spec.wavelength / 1000.0, rtol=1e-6)
    np.testing.assert_allclose(spec.ivar, 100.0, rtol=1e-5)


@pytest.mark.parametrize("lsf", ["wresl", "wdisp"])
def test_boss_spec_lsf(tmp_path, lsf):
    loglam = 3.5523 + 1e-4 * np.arange(4000)
    lam = 10**loglam
    kwargs = {"wresl": lam / 2000.0} if lsf == "wresl" else {"wdisp": np.full(lam.size, 1.1)}
    exposures = [{"loglam": loglam, "flux": np.ones(lam.size)}] if lsf == "wresl" else []
    path = write_boss_spec(
        tmp_path / "spec-015000-60000-27021597863.fits",
        loglam,
        np.ones(lam.size),
        np.full(lam.size, 9.0),
        keywords={"mjd": 60000, "catalogid": 27021597863, "telescope": "lco25m", "snr": 33.0},
        exposures=exposures,
        **kwargs,
    )
    (record,) = describe_file(path)
    assert record.kind == "BossVisitSpectrum"
    assert record.keywords["telescope"] == "lco25m"
    assert record.keywords["filetype"] == ("specFull" if exposures else "specLite")
    assert record.keywords["snr"] == pytest.approx(33.0)
    (spec,) = read_spectra(path)
    expected = lam / 2000.0 if lsf == "wresl" else 1.1 * FWHM_PER_SIGMA * lam * np.log(10) * 1e-4
    np.testing.assert_allclose(spec.lsf_fwhm, expected, rtol=1e-4)
    assert wdisp_to_fwhm(np.array([1.0, 1.0]), np.array([3.7, 3.7001]))[0] == pytest.approx(
        FWHM_PER_SIGMA * 10**3.7 * np.log(10) * 1e-4, rel=1e-3
    )


def test_unknown_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(SpectrumError, match="not a recognised"):
        describe_file(path)


def test_paths_use_the_sdss_tree(tmp_path):
    env = {"SAS_BASE_DIR": str(tmp_path)}
    assert (
        expand_path("$MWM_ASTRA/0.8.0/x.fits", env) == f"{tmp_path}/sdsswork/mwm/spectro/astra/0.8.0/x.fits"
    )
    assert expand_path("$SAS_BASE_DIR/a", env) == f"{tmp_path}/a"
    assert expand_path("$NOT_A_VARIABLE/a", env) == "$NOT_A_VARIABLE/a"
    # the process environment wins over sdss-tree
    assert expand_path("$MWM_ASTRA/x", {**env, "MWM_ASTRA": "/elsewhere"}) == "/elsewhere/x"
    assert sdss_id_groups(1234567) == "45/67"
    assert mwm_path("mwmStar", "0.8.0", 1234567) == (
        "$MWM_ASTRA/0.8.0/spectra/star/45/67/mwmStar-0.8.0-1234567.fits"
    )
