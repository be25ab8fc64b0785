"""A reproducible corpus of malformed inputs for the readers and the fitter.

Every case derives from a good spectrum simulated with a toy bundle, damaged in one way:
truncated or corrupted FITS bytes, wrong or missing HDUs and columns, empty arrays,
NaN/inf/negative flux and inverse variance, masks, non-monotonic or out-of-coverage
wavelengths, absurd header cards (patched in the raw 80-character cards, as a broken
writer or a bit flip would leave them), huge radial velocities, and spectra of the other
instrument. Files cover mwmStar, apStar, apVisit and BOSS spec; a further set are in-memory
arrays assigned to spectrum rows. Random damage uses fixed seeds, so the corpus is the same
on every run.

Write it to a folder for inspection::

    python -m tests.fuzz.corpus OUTDIR
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Case", "build_corpus", "in_memory_cases"]

C_KMS = 299792.458


@dataclass
class Case:
    """One malformed input.

    Attributes
    ----------
    name : str
        Unique, descriptive.
    path : Path or None
        The file (file cases).
    arrays : dict or None
        Pixel arrays (in-memory cases): ``wavelength, flux, ivar, pixel_flags`` (+ ``wresl``).
    instrument : str
        The instrument it pretends to be.
    unusable : bool
        Surely unusable: must be rejected at ingestion or give rows flagged bad.
    """

    name: str
    instrument: str
    path: Path | None = None
    arrays: dict[str, Any] | None = None
    unusable: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


# -- raw FITS surgery -------------------------------------------------------------------------


def _header_offsets(path: Path) -> list[int]:
    from astropy.io import fits

    with fits.open(path) as hdul:
        return [hdu._header_offset for hdu in hdul]


def patch_card(path: Path, hdu: int, key: str, value: str) -> bool:
    """Replace the value of card ``key`` of HDU ``hdu`` in the raw bytes (no validation)."""
    start = _header_offsets(path)[hdu]
    data = bytearray(path.read_bytes())
    position = start
    while position + 80 <= len(data):
        card = data[position : position + 80].decode("ascii", "replace")
        if card.startswith("END     ") or card.rstrip() == "END":
            return False
        if card[:8].rstrip() == key and card[8:10] == "= ":
            text = f"{key:<8}= {value:>20}"[:80].ljust(80)
            data[position : position + 80] = text.encode("ascii")
            path.write_bytes(bytes(data))
            return True
        position += 80
    return False


_TIMESTAMP = re.compile(rb"((?:CREATED |DATE    )= ')\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(')")


_CHECKSUM = re.compile(rb"(CHECKSUM= ')[0-9A-Za-z]{16}(')")
_UPDATED = re.compile(rb"updated \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def fix_timestamps(path: Path) -> None:
    """Set every CREATED/DATE card to one fixed time, and CHECKSUM (which depends on it) to a
    fixed string: byte-reproducible files (readers do not verify checksums)."""
    data = _TIMESTAMP.sub(rb"\g<1>2026-01-01 00:00:00\g<2>", path.read_bytes())
    data = _CHECKSUM.sub(rb"\g<1>0000000000000000\g<2>", data)
    path.write_bytes(_UPDATED.sub(rb"updated 2026-01-01T00:00:00", data))


def _flip_bytes(path: Path, rng: np.random.Generator, n: int, lo: int, hi: int) -> None:
    data = bytearray(path.read_bytes())
    hi = min(hi, len(data))
    for offset in rng.integers(lo, hi, n):
        data[int(offset)] = int(rng.integers(0, 256))
    path.write_bytes(bytes(data))


# -- good spectra ------------------------------------------------------------------------------


class _Source:
    """Good simulated spectra of both instruments, and writers of damaged copies."""

    def __init__(self, folder: Path, bundles: dict[str, Any]) -> None:
        from tests.astra.fixtures import spectrum_row

        self.folder = folder
        self.rows = {name: spectrum_row(bundle, name, seed=1) for name, bundle in bundles.items()}
        self.cases: list[Case] = []
        self.sdss_id = 900_000

    def _next(self) -> int:
        self.sdss_id += 1
        return self.sdss_id

    def mwm(self, name: str, instrument: str, unusable: bool = False, **changes: Any) -> Path:
        """An mwmStar with one spectrum of ``instrument`` whose row values are ``changes``."""
        from zeta_payne.io.sdss import write_mwm

        row = dict(self.rows[instrument])
        row.update(changes)
        row = {k: v for k, v in row.items() if v is not None}
        path = self.folder / f"mwmStar-0.8.0-{self._next()}.fits"
        write_mwm(path, {"sdss_id": self.sdss_id, "ra": 1.0, "dec": 2.0}, [row], overwrite=True)
        fix_timestamps(path)
        self.cases.append(Case(f"mwm/{instrument}/{name}", instrument, path, unusable=unusable))
        return path

    def derived(
        self, name: str, instrument: str, make: Callable[[Path], None], unusable: bool, **notes: Any
    ) -> None:
        """A good mwmStar of ``instrument`` damaged in place by ``make(path)``."""
        path = self.mwm(name, instrument, unusable)
        self.cases[-1].notes.update(notes)
        make(path)


# -- the corpus --------------------------------------------------------------------------------


def _value_cases(src: _Source) -> None:
    from zeta_payne.io.sdss.layout import grid_for

    rng = np.random.default_rng(1)
    for inst in ("boss", "apogee"):
        good = src.rows[inst]
        n = good["flux"].size
        flux, ivar = good["flux"], good["ivar"]
        half = rng.random(n) < 0.5
        src.mwm("flux_all_nan", inst, True, flux=np.full(n, np.nan))
        src.mwm("flux_all_posinf", inst, True, flux=np.full(n, np.inf))
        src.mwm("flux_all_neginf", inst, True, flux=np.full(n, -np.inf))
        src.mwm("flux_all_negative", inst, flux=-np.abs(flux))
        src.mwm("flux_all_zero", inst, flux=np.zeros(n))
        src.mwm("flux_half_nan", inst, flux=np.where(half, np.nan, flux))
        src.mwm("flux_one_finite_pixel", inst, True, flux=np.where(np.arange(n) == n // 2, 1.0, np.nan))
        src.mwm("flux_huge", inst, flux=flux * 1e36)
        src.mwm("flux_tiny", inst, flux=flux * 1e-36)
        src.mwm("flux_alternating_huge", inst, flux=np.where(np.arange(n) % 2, 3e38, -3e38))
        src.mwm("flux_spikes", inst, flux=np.where(rng.random(n) < 0.01, 1e30, flux))
        src.mwm("ivar_all_zero", inst, True, ivar=np.zeros(n))
        src.mwm("ivar_all_nan", inst, True, ivar=np.full(n, np.nan))
        src.mwm("ivar_all_inf", inst, True, ivar=np.full(n, np.inf))
        src.mwm("ivar_all_negative", inst, True, ivar=-np.abs(ivar))
        src.mwm("ivar_half_negative", inst, ivar=np.where(half, -ivar, ivar))
        src.mwm("ivar_huge", inst, ivar=np.full(n, 3e38))
        src.mwm("ivar_tiny", inst, ivar=np.full(n, 1e-38))
        src.mwm("ivar_nan_tenth", inst, ivar=np.where(rng.random(n) < 0.1, np.nan, ivar))
        src.mwm("flags_all_bad", inst, True, pixel_flags=np.full(n, 0x7FFFFFFF, np.int64))
        src.mwm("flags_half_bad", inst, pixel_flags=np.where(half, 0xFF, 0))
        src.mwm("flags_minus_one", inst, True, pixel_flags=np.full(n, -1))
        src.mwm("flags_random_bits", inst, pixel_flags=rng.integers(0, 2**31 - 1, n))
        wave = grid_for(inst).wavelength
        for v in (-20000.0, -5000.0, 5000.0, 20000.0):
            shifted = np.interp(wave, wave * (1 + v / C_KMS), flux)
            src.mwm(f"rv_{v:+.0f}", inst, flux=shifted)
        src.mwm("meta_absurd", inst, v_rad=1e30, snr=np.nan, mjd=-1)
    n = src.rows["boss"]["flux"].size
    src.mwm("wresl_zero", "boss", wresl=np.zeros(n))
    src.mwm("wresl_negative", "boss", wresl=np.full(n, -1.0))  # "not measured": nominal R
    src.mwm("wresl_nan", "boss", wresl=np.full(n, np.nan))
    src.mwm("wresl_huge", "boss", wresl=np.full(n, 1e6))
    src.mwm("wresl_tiny", "boss", wresl=np.full(n, 1e-10))
    src.mwm("wresl_half_nan", "boss", wresl=np.where(np.arange(n) % 2, np.nan, 3.0))


def _shape_cases(src: _Source) -> None:
    for inst in ("boss", "apogee"):
        n = src.rows[inst]["flux"].size
        src.mwm("arrays_short", inst, True, flux=np.ones(n - 100), ivar=np.ones(n - 100))
        src.mwm("arrays_long", inst, True, flux=np.ones(n + 100), ivar=np.ones(n + 100))
        src.mwm("arrays_one_pixel", inst, True, flux=np.ones(1), ivar=np.ones(1), pixel_flags=np.zeros(1))
        src.mwm("ivar_missing", inst, True, ivar=None)
        src.mwm("flux_missing", inst, True, flux=None)
        src.mwm("ivar_length_differs", inst, True, ivar=np.ones(n - 1))
    # the other instrument's arrays in an extension (BOSS data where APOGEE belongs and back)
    boss, apogee = src.rows["boss"], src.rows["apogee"]
    src.mwm("boss_arrays_in_apogee_hdu", "apogee", True, flux=boss["flux"], ivar=boss["ivar"])
    src.mwm("apogee_arrays_in_boss_hdu", "boss", True, flux=apogee["flux"], ivar=apogee["ivar"])


def _header_cases(src: _Source) -> None:
    ext = {"boss": 1, "apogee": 3}
    values = {
        "CRVAL": ["NAN", "'abc'", "-5.0", "50.0", "400.0", "1E300", "0.0", "3.9", "4.179"],
        "CDELT": ["0.0", "-1E-4", "1.0", "1E-12", "'x'", "1E300"],
        "NPIXELS": ["0", "-1", "1000000000000", "4647", "10", "'many'"],
        "INSTRMNT": ["'APOGEE'", "'XYZ'", "'BOSS'"],
        "OBSRVTRY": ["'MARS'"],
        "NAXIS2": ["0", "2", "1000000"],
        "TFIELDS": ["0", "999"],
    }
    # parsable but impossible values; an unparsable card falls back to the standard grid
    bad_always = {("CDELT", "0.0"), ("CDELT", "-1E-4"), ("CDELT", "1E300")}
    bad_always |= {("CRVAL", v) for v in ("-5.0", "50.0", "400.0", "1E300", "0.0")}
    for inst in ("boss", "apogee"):
        for key, options in values.items():
            for value in options:
                if key == "NPIXELS" and inst == "apogee" and value == "4647":
                    value = "8574"
                parsable = not value.startswith("'")
                unusable = (key, value) in bad_always or (key in ("NPIXELS", "TFIELDS") and parsable)
                unusable |= (key, value, inst) == ("CRVAL", "4.179", "boss")
                if key == "NAXIS2" and value == "0":
                    unusable = True

                def patch(path: Path, key: str = key, value: str = value, hdu: int = ext[inst]) -> None:
                    assert patch_card(path, hdu, key, value), (key, path)

                # real ASTRA's mwm models put pixels on a fixed wavelength grid and never read
                # these cards: there, damage to them alone leaves a usable spectrum
                grid_card = key in ("CRVAL", "CDELT", "NPIXELS")
                src.derived(f"header_{key}={value}", inst, patch, unusable, grid_card=grid_card)
    primary = {
        "SDSS_ID": ["'abc'", "1E30", "-1", "99999999999999999999999"],
        "FILETYPE": ["'mwmVisit'", "'bogus'"],
        "RA": ["'north'", "1E300"],
        "V_ASTRA": ["'../../etc/passwd'"],
    }
    for key, options in primary.items():
        for value in options:

            def patch0(path: Path, key: str = key, value: str = value) -> None:
                patch_card(path, 0, key, value)

            src.derived(f"primary_{key}={value}", "boss", patch0, False)


def _layout(src: _Source, inst: str) -> tuple[int, int]:
    """(end of the spectrum's data, file size) of a good mwmStar of ``inst``."""
    from astropy.io import fits

    from zeta_payne.io.sdss import write_mwm

    path = src.folder / f"layout-{inst}.fits"
    write_mwm(path, {"sdss_id": 1}, [src.rows[inst]], overwrite=True)
    with fits.open(path) as hdul:
        hdu = hdul[1 if inst == "boss" else 3]
        header = hdu.header  # the end of the rows (not of the padding after them)
        end = hdu._data_offset + header["NAXIS1"] * header["NAXIS2"] + header.get("PCOUNT", 0)
    size = path.stat().st_size
    path.unlink()
    return end, size


def _data_end(src: _Source, inst: str) -> int:
    return _layout(src, inst)[0]


def _mwm_size(src: _Source, inst: str) -> int:
    return _layout(src, inst)[1]


def _structure_cases(src: _Source) -> None:
    from astropy.io import fits

    def truncate_to(fraction_or_bytes: float):
        def make(path: Path) -> None:
            size = path.stat().st_size
            cut = int(fraction_or_bytes if fraction_or_bytes >= 1 else size * fraction_or_bytes)
            with open(path, "r+b") as fh:
                fh.truncate(cut)

        return make

    for inst in ("boss", "apogee"):
        end = _data_end(src, inst)  # the spectrum is whole in a file cut after this byte
        cuts = (0, 10, 100, 2879, 2880, 2881, 5760, 0.3, 0.5, 0.7, 0.9, 0.99)
        for cut in cuts if inst == "boss" else cuts[::2]:
            size = _mwm_size(src, inst)
            at = cut if cut >= 1 or cut == 0 else int(size * cut)
            src.derived(f"truncated_at_{cut}", inst, truncate_to(cut), at < end)
    for seed in range(8):

        def header_flips(path: Path, seed: int = seed) -> None:
            _flip_bytes(path, np.random.default_rng(100 + seed), 8, 0, 2880 * 3)

        def data_flips(path: Path, seed: int = seed) -> None:
            size = path.stat().st_size
            _flip_bytes(path, np.random.default_rng(200 + seed), 64, 2880 * 3, size)

        src.derived(f"header_bytes_flipped_{seed}", "boss", header_flips, False)
        src.derived(f"data_bytes_flipped_{seed}", "boss" if seed % 2 else "apogee", data_flips, False)

    def zero_block(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[2880 * 2 : 2880 * 4] = bytes(2880 * 2)
        path.write_bytes(bytes(data))

    src.derived("zeroed_blocks", "boss", zero_block, False)
    src.derived("garbage_appended", "boss", lambda p: p.write_bytes(p.read_bytes() + b"x" * 999), False)

    def image_instead_of_table(path: Path) -> None:
        with fits.open(path) as hdul:
            hdus = [h.copy() for h in hdul]
        hdus[1] = fits.ImageHDU(np.ones((3, 3), np.float32), header=None, name="BOSS/APO")
        fits.HDUList(hdus).writeto(path, overwrite=True)

    src.derived("image_instead_of_table", "boss", image_instead_of_table, True)

    def primary_only(path: Path) -> None:
        with fits.open(path) as hdul:
            fits.HDUList([hdul[0].copy()]).writeto(path, overwrite=True)

    src.derived("primary_only", "boss", primary_only, True)

    def string_flux(path: Path) -> None:
        with fits.open(path) as hdul:
            hdus = [h.copy() for h in hdul]
        table = hdus[1]
        columns = [c for c in table.columns if c.name.lower() != "flux"]
        columns.append(fits.Column(name="flux", format="10A", array=np.array(["abc"])))
        hdus[1] = fits.BinTableHDU.from_columns(columns, header=table.header)
        fits.HDUList(hdus).writeto(path, overwrite=True)

    src.derived("flux_column_of_strings", "boss", string_flux, True)

    def two_d_flux(path: Path) -> None:
        with fits.open(path) as hdul:
            hdus = [h.copy() for h in hdul]
        table = hdus[1]
        flux = np.asarray(table.data["flux"]).reshape(1, 2, -1)
        columns = [c for c in table.columns if c.name.lower() != "flux"]
        columns.append(
            fits.Column(name="flux", format=f"{flux[0].size}E", dim=f"({flux.shape[2]},2)", array=flux)
        )
        hdus[1] = fits.BinTableHDU.from_columns(columns, header=table.header)
        fits.HDUList(hdus).writeto(path, overwrite=True)

    src.derived("flux_two_dimensional", "boss", two_d_flux, False)  # read flattened
    # files that are no FITS at all
    for name, payload in (
        ("empty_file", b""),
        ("text_file", b"hello, I am not a spectrum\n" * 10),
        ("simple_card_only", b"SIMPLE  =                    T".ljust(2880, b" ")),
        ("gzip_garbage", gzip.compress(b"not fits" * 100, mtime=0)),
        ("binary_noise", np.random.default_rng(7).bytes(2880 * 4)),
        ("end_card_only", b"END".ljust(2880, b" ")),
    ):
        path = src.folder / f"mwmStar-0.8.0-{src._next()}.fits"
        path.write_bytes(payload)
        src.cases.append(Case(f"mwm/boss/{name}", "boss", path, unusable=True))
    # mwmVisit: one good visit beside damaged ones
    from zeta_payne.io.sdss import write_mwm

    good = src.rows["boss"]
    visits = [
        dict(good),
        {**good, "flux": np.full(good["flux"].size, np.nan)},
        {**good, "ivar": -good["ivar"]},
    ]
    path = src.folder / f"mwmVisit-0.8.0-{src._next()}.fits"
    write_mwm(path, {"sdss_id": src.sdss_id}, visits, filetype="mwmVisit", overwrite=True)
    fix_timestamps(path)
    src.cases.append(Case("mwmVisit/boss/mixed_visits", "boss", path))


def _apstar_cases(src: _Source) -> None:
    from zeta_payne.io.sdss import write_apstar

    good = src.rows["apogee"]
    flux, err = good["flux"], 1.0 / np.sqrt(good["ivar"])
    n = flux.size
    variants: dict[str, tuple[dict[str, Any], bool]] = {
        "good": ({}, False),
        "err_nan": ({"error": np.full(n, np.nan)}, True),
        "err_zero": ({"error": np.zeros(n)}, True),
        "err_negative": ({"error": -err}, True),
        "err_huge": ({"error": np.full(n, 1e30)}, True),
        "mask_all_bad": ({"mask": np.full(n, 0xFF)}, True),
        "flux_nan": ({"flux": np.full(n, np.nan)}, True),
        "short": ({"flux": flux[:-10], "error": err[:-10]}, False),  # NAXIS1 agrees: a shorter grid
        "visits_absurd": ({"keywords": {"n_visits": 10**9}}, False),
        "visits_negative": ({"keywords": {"n_visits": -3}}, False),
    }
    for name, (changes, unusable) in variants.items():
        values = {"flux": flux, "error": err, "mask": None, "keywords": {"sdss_id": src._next()}}
        values.update(changes)
        path = src.folder / f"apStar-dr17-{src.sdss_id}-{name}.fits"
        write_apstar(
            path, values["flux"], values["error"], values["mask"], values["keywords"], overwrite=True
        )
        fix_timestamps(path)
        src.cases.append(Case(f"apStar/{name}", "apogee", path, unusable=unusable))
    for key, value in (("CRVAL1", "NAN"), ("CDELT1", "0.0"), ("NAXIS1", "10"), ("CRVAL1", "3.5")):
        path = src.folder / f"apStar-dr17-{src._next()}-{key}.fits"
        write_apstar(path, flux, err, None, {"sdss_id": src.sdss_id}, overwrite=True)
        fix_timestamps(path)
        patch_card(path, 1, key, value)
        src.cases.append(Case(f"apStar/header_{key}={value}", "apogee", path, unusable=True))
    path = src.folder / f"apStar-dr17-{src._next()}-truncated.fits"
    write_apstar(path, flux, err, None, {"sdss_id": src.sdss_id}, overwrite=True)
    fix_timestamps(path)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 3)
    src.cases.append(Case("apStar/truncated", "apogee", path, unusable=True))


def _apvisit_cases(src: _Source) -> None:
    from zeta_payne.io.sdss import write_apvisit

    rng = np.random.default_rng(3)
    wave = np.linspace(15100.0, 16990.0, 3 * 4096).reshape(3, 4096)[::-1, ::-1].copy()
    flux = 100.0 + rng.normal(0, 1, wave.shape)
    err = np.ones(wave.shape)
    shuffled = wave.ravel().copy()
    rng.shuffle(shuffled)
    variants: dict[str, tuple[dict[str, Any], bool]] = {
        "good": ({}, False),
        "wavelength_shuffled": ({"wavelength": shuffled.reshape(3, 4096)}, False),
        "wavelength_duplicated": ({"wavelength": np.repeat(wave[:, ::2], 2, axis=1)}, True),
        "wavelength_nan": ({"wavelength": np.full(wave.shape, np.nan)}, True),
        "wavelength_zero": ({"wavelength": np.zeros(wave.shape)}, True),
        "wavelength_negative": ({"wavelength": -wave}, True),
        "wavelength_ascending": ({"wavelength": wave[::-1, ::-1].copy()}, False),
        "wavelength_in_microns": ({"wavelength": wave / 1e4}, True),
        "wavelength_optical": ({"wavelength": wave - 10000.0}, True),
        "chips_of_two_lengths": ({"flux": flux[:, :4000]}, True),
        "err_zero": ({"error": np.zeros(wave.shape)}, True),
        "vhelio_huge": ({"keywords": {"v_rad": 1e30}}, False),
    }
    for name, (changes, unusable) in variants.items():
        values = {"wavelength": wave, "flux": flux, "error": err, "keywords": {"sdss_id": src._next()}}
        values.update(changes)
        path = src.folder / f"apVisit-dr17-{src.sdss_id}-{name}.fits"
        write_apvisit(
            path,
            values["wavelength"],
            values["flux"],
            values["error"],
            None,
            values["keywords"],
            overwrite=True,
        )
        fix_timestamps(path)
        src.cases.append(Case(f"apVisit/{name}", "apogee", path, unusable=unusable))


def _boss_spec_cases(src: _Source) -> None:
    from zeta_payne.io.sdss import write_boss_spec

    good = src.rows["boss"]
    n = good["flux"].size
    loglam = 3.5523 + 1e-4 * np.arange(n)
    rng = np.random.default_rng(5)
    variants: dict[str, tuple[dict[str, Any], bool]] = {
        "good": ({}, False),
        "loglam_shuffled": ({"loglam": rng.permutation(loglam)}, False),
        "loglam_nan": ({"loglam": np.full(n, np.nan)}, True),
        "loglam_constant": ({"loglam": np.full(n, 3.7)}, True),
        "loglam_out_of_coverage": ({"loglam": loglam + 6.0}, True),
        "loglam_negative": ({"loglam": -loglam}, True),
        "loglam_overflow": ({"loglam": loglam + 400.0}, True),
        "wdisp_negative": ({"wresl": None, "wdisp": np.full(n, -1.0)}, False),  # "not measured"
        "wdisp_huge": ({"wresl": None, "wdisp": np.full(n, 1e6)}, False),
        "or_mask_all_bad": ({"or_mask": np.full(n, 1 << 24)}, True),
        "ivar_zero": ({"ivar": np.zeros(n)}, True),
        "z_absurd": ({"keywords": {"z": 1e10, "snr": -5.0}}, False),
    }
    for name, (changes, unusable) in variants.items():
        values = {
            "loglam": loglam,
            "flux": good["flux"],
            "ivar": good["ivar"],
            "or_mask": None,
            "wresl": good["wresl"],
            "wdisp": None,
            "keywords": {"catalogid": src._next()},
        }
        values.update(changes)
        path = src.folder / f"spec-015000-59000-{src.sdss_id}-{name}.fits"
        write_boss_spec(path, **values, overwrite=True)
        fix_timestamps(path)
        src.cases.append(Case(f"spec/{name}", "boss", path, unusable=unusable))

    def no_coadd(path: Path) -> None:
        from astropy.io import fits

        with fits.open(path) as hdul:
            fits.HDUList([hdul[0].copy(), hdul[2].copy()]).writeto(path, overwrite=True)

    path = src.folder / f"spec-015000-59000-{src._next()}-no_coadd.fits"
    write_boss_spec(path, loglam, good["flux"], good["ivar"], wresl=good["wresl"], overwrite=True)
    fix_timestamps(path)
    no_coadd(path)
    src.cases.append(Case("spec/no_coadd", "boss", path, unusable=True))


def in_memory_cases(bundles: dict[str, Any]) -> list[Case]:
    """Hostile pixel arrays for spectrum rows built in memory (no file)."""
    from tests.astra.fixtures import spectrum_row
    from zeta_payne.io.sdss.layout import APOGEE_GRID, BOSS_GRID

    cases = []
    for inst, grid in (("boss", BOSS_GRID), ("apogee", APOGEE_GRID)):
        row = spectrum_row(bundles[inst], inst, seed=2)
        wave, flux, ivar = grid.wavelength, row["flux"], row["ivar"]
        n = wave.size
        flags = np.zeros(n, np.int64)

        def arrays(w=wave, f=flux, i=ivar, p=flags, r=None, inst=inst):
            out = {"wavelength": w, "flux": f, "ivar": i, "pixel_flags": p}
            if inst == "boss":
                out["wresl"] = np.asarray(w, float) / 2000.0 if r is None else r
            return out

        variants = {
            "good": (arrays(), False),
            "empty": (arrays(np.array([]), np.array([]), np.array([]), np.array([], np.int64)), True),
            "one_pixel": (arrays(wave[:1], flux[:1], ivar[:1], flags[:1]), True),
            "three_pixels": (arrays(wave[:3], flux[:3], ivar[:3], flags[:3]), True),
            "lengths_differ": (arrays(f=flux[:-5]), True),
            "descending": (arrays(w=wave[::-1]), True),
            "non_monotonic": (arrays(w=np.roll(wave, 7)), True),
            "duplicate_wavelengths": (arrays(w=np.sort(np.r_[wave[:-1], wave[5]])), True),
            "wavelength_nan": (arrays(w=np.where(np.arange(n) == 3, np.nan, wave)), True),
            "wavelength_negative": (arrays(w=wave - 2 * wave[-1]), True),
            "wavelength_in_nm": (arrays(w=wave / 10.0), True),
            "wavelength_far_red": (arrays(w=wave * 10.0), True),
            "wavelength_inf": (arrays(w=np.where(np.arange(n) == n - 1, np.inf, wave)), True),
            "two_dimensional": (arrays(f=np.vstack([flux, flux])), True),
            "strings": (arrays(f=np.array(["x"] * n)), True),
            "complex": (arrays(f=flux + 1j), True),
            "integers": (arrays(f=np.round(flux).astype(np.int16)), False),
            "booleans": (arrays(f=flux > 0), False),
            "none_flux": (arrays(f=None), True),
            "mask_all": (arrays(p=np.full(n, -1)), True),
        }
        for name, (values, unusable) in variants.items():
            cases.append(Case(f"memory/{inst}/{name}", inst, arrays=values, unusable=unusable))
    # the other instrument's spectrum given to a pipeline
    boss = spectrum_row(bundles["boss"], "boss", seed=3)
    apogee = spectrum_row(bundles["apogee"], "apogee", seed=3)
    cases.append(
        Case(
            "memory/apogee_pipeline/boss_spectrum",
            "apogee",
            arrays={"wavelength": BOSS_GRID.wavelength, "flux": boss["flux"], "ivar": boss["ivar"]},
            unusable=True,
        )
    )
    cases.append(
        Case(
            "memory/boss_pipeline/apogee_spectrum",
            "boss",
            arrays={"wavelength": APOGEE_GRID.wavelength, "flux": apogee["flux"], "ivar": apogee["ivar"]},
            unusable=True,
        )
    )
    return cases


def build_corpus(folder: str | os.PathLike, bundles: dict[str, Any]) -> list[Case]:
    """Write the file cases to ``folder`` and return them with the in-memory cases.

    Parameters
    ----------
    folder : path-like
        Destination (created).
    bundles : dict
        ``{"boss": Bundle, "apogee": Bundle}`` that simulate the good spectra.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    src = _Source(folder, bundles)
    for make in (_value_cases, _shape_cases, _header_cases, _structure_cases, _apstar_cases):
        make(src)
    _apvisit_cases(src)
    _boss_spec_cases(src)
    cases = src.cases + in_memory_cases(bundles)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.fuzz.corpus OUTDIR``: write the corpus and list it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print(__doc__)
        return 2
    from zeta_payne.bundles.toy import make_toy_bundle

    out = Path(argv[0])
    bundles = {i: make_toy_bundle(out / "bundles" / i, i, n_hidden=32) for i in ("boss", "apogee")}
    cases = build_corpus(out / "files", bundles)
    for case in cases:
        where = case.path.name if case.path else "(in memory)"
        print(f"{case.name:55s} {where}{'  unusable' if case.unusable else ''}")
    print(f"{len(cases)} cases")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
