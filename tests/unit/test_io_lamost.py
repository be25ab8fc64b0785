"""The LAMOST low-resolution reader: both file layouts, registered, and fitted with a BOSS bundle."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from zeta_payne.io.lamost import LAMOST_RESOLUTION, read_lamost, write_lamost
from zeta_payne.io.registry import read_spectra, readers

from ..conftest import simulate

#: LAMOST LRS pixels: log-uniform, 3,690-9,100 Å (a cut of it keeps the fixture small).
WAVELENGTH = 10 ** (3.6812 + 1e-4 * np.arange(3600))


@pytest.fixture
def lamost_star(toy_boss):
    truth = np.array([14000.0, 4.0, 150.0, 2.0, 0.0])
    return simulate(toy_boss, WAVELENGTH, truth, 40.0, snr=80, seed=5, resolution=LAMOST_RESOLUTION), truth


@pytest.mark.parametrize("layout", ["dr7", "dr8"])
def test_both_layouts_read_back(tmp_path, lamost_star, layout):
    spectrum, _ = lamost_star
    mask = np.zeros(WAVELENGTH.size, int)
    mask[100:110] = 4
    path = write_lamost(
        tmp_path / f"spec-{layout}.fits",
        WAVELENGTH,
        spectrum.flux,
        spectrum.ivar,
        obsid=123456789,
        designation="J012345.67+012345.6",
        andmask=mask,
        layout=layout,
    )
    assert "lamost" in readers()
    (read,) = read_spectra(path)  # identified by the registry
    assert read.frame == "observed" and read.meta["instrument"] == "lamost"
    assert read.meta["obsid"] == 123456789 and read.meta["designation"] == "J012345.67+012345.6"
    assert np.allclose(read.wavelength, WAVELENGTH, rtol=1e-6)
    assert np.allclose(read.flux, spectrum.flux, rtol=1e-5)
    assert np.allclose(read.lsf_fwhm, read.wavelength / LAMOST_RESOLUTION)
    assert read.pixel_mask[100:110].all() and read.pixel_mask.sum() == 10


def test_not_lamost_and_broken(tmp_path, lamost_star):
    from astropy.io import fits

    from zeta_payne.exceptions import SpectrumError
    from zeta_payne.io.lamost import identify_lamost

    other = tmp_path / "other.fits"
    fits.PrimaryHDU(np.zeros((5, 10))).writeto(other)
    assert not identify_lamost(str(other))
    broken = tmp_path / "broken.fits"
    hdu = fits.PrimaryHDU(np.zeros(10))
    hdu.header["TELESCOP"] = "LAMOST"
    hdu.writeto(broken)
    with pytest.raises(SpectrumError, match="5 × N"):
        read_lamost(broken)


def test_fit_lamost_with_the_boss_bundle(tmp_path, lamost_star, toy_boss):
    from zeta_payne.cli import main

    spectrum, truth = lamost_star
    path = write_lamost(
        tmp_path / "spec-55859-F5902_sp01-001.fits", WAVELENGTH, spectrum.flux, spectrum.ivar, obsid=42
    )
    out = tmp_path / "lamost.csv"
    assert (
        main(
            [
                "fit",
                str(path),
                "--bundle-boss",
                str(toy_boss.path),
                "--presearch-points",
                "1024",
                "--wavelength-range",
                "4500",
                "5500",
                "-q",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    (row,) = csv.DictReader(open(out))
    assert row["instrument"] == "lamost" and row["identifier"] == "42" and row["frame"] == "observed"
    assert row["lsf_source"] == "spectrum" and "lsf_from_bundle" not in row["flag_names"]
    assert abs(float(row["teff"]) - truth[0]) < 2 * float(row["e_teff"])  # the toy bundle is weak in teff
    assert abs(float(row["v_rad"]) - 40.0) < 3 and 0.5 < float(row["rchi2"]) < 1.5
