"""Small SDSS data products made from a toy bundle's forward model (for the ASTRA tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import simulate
from zeta_payne.io.sdss import write_mwm
from zeta_payne.io.sdss.layout import APOGEE_GRID, BOSS_GRID

TRUE_LABELS = {
    "boss": np.array([12000.0, 4.0, 120.0, 2.0, 0.1]),
    "apogee": np.array([15000.0, 3.8, 80.0, 2.0, -0.2]),
}


def spectrum_row(bundle, instrument: str, seed: int, telescope: str = "apo25m", snr: float = 80.0) -> dict:
    """One mwm row (flux, ivar, pixel_flags, BOSS wresl) of a simulated spectrum."""
    grid = BOSS_GRID if instrument == "boss" else APOGEE_GRID
    labels = TRUE_LABELS[instrument].copy()
    labels[0] += 500.0 * seed
    spec = simulate(bundle, grid.wavelength, labels, v_rad=3.0 + seed, snr=snr, seed=seed)
    row = {
        "instrument": instrument,
        "telescope": telescope,
        "release": "sdss5",
        "healpix": 1000 + seed,
        "snr": snr,
        "flux": spec.flux,
        "ivar": spec.ivar,
        "pixel_flags": np.zeros(grid.n_pixels, np.int32),
    }
    if instrument == "boss":
        row["wresl"] = grid.wavelength / 2000.0
        row["run2d"] = "v6_2_1"
    else:
        row["apred"] = "1.4"
        row["obj"] = f"2M{seed:08d}+0000000"
    return row


def write_star(folder: Path, sdss_id: int, rows: list[dict], programs: str | None = None) -> Path:
    """An mwmStar file for one source."""
    path = Path(folder) / f"mwmStar-0.8.0-{sdss_id}.fits"
    source = {"sdss_id": sdss_id, "ra": 10.0, "dec": -5.0, "healpix": 1000 + sdss_id, "programs": programs}
    write_mwm(path, source, rows, overwrite=True)
    return path


def truncate(path: Path, hdu: int = 1) -> Path:
    """Cut a FITS file inside the data of extension ``hdu``."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        offset = hdul[hdu]._data_offset + 1000
    with open(path, "r+b") as fh:
        fh.truncate(offset)
    return path


def make_products(folder: Path, toy_boss, toy_apogee) -> dict[str, Path]:
    """Good and corrupt mwmStar files.

    ``good_boss_1``, ``good_boss_2`` (BOSS APO), ``good_apogee`` (APOGEE LCO), ``both``
    (BOSS APO + APOGEE APO), ``truncated`` (BOSS data cut), ``no_ivar`` (BOSS, every ivar 0),
    ``wrong_length`` (APOGEE flux shorter than the grid), ``garbage`` (not FITS).
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "good_boss_1": write_star(folder, 101, [spectrum_row(toy_boss, "boss", 1)]),
        "good_boss_2": write_star(folder, 102, [spectrum_row(toy_boss, "boss", 2)]),
        "good_apogee": write_star(folder, 103, [spectrum_row(toy_apogee, "apogee", 3, "lco25m")]),
    }
    truncated = write_star(folder, 104, [spectrum_row(toy_boss, "boss", 4)])
    files["truncated"] = truncate(truncated)
    no_ivar = spectrum_row(toy_boss, "boss", 5)
    no_ivar["ivar"] = np.zeros_like(no_ivar["ivar"])
    files["no_ivar"] = write_star(folder, 105, [no_ivar])
    short = spectrum_row(toy_apogee, "apogee", 6)
    short = {k: (v[:-100] if isinstance(v, np.ndarray) else v) for k, v in short.items()}
    files["wrong_length"] = write_star(folder, 106, [short])
    garbage = folder / "mwmStar-0.8.0-107.fits"
    garbage.write_bytes(b"this is not a FITS file")
    files["garbage"] = garbage
    return files


_NEXT_ID = [5_000_000]

#: Carton bits of the test targeting table (one carton per program).
PROGRAM_BITS: dict[str, int] = {"mwm_ob": 3, "mwm_yso": 5, "mwm_wd": 9}


def write_targeting_table() -> str:
    """ASTRA's carton-bit table under ``$MWM_ASTRA/aux/targeting-bits`` (columns as ASTRA
    reads them: ``bit, carton_pk, label, program, mapper``)."""
    import os

    folder = os.path.join(os.environ["MWM_ASTRA"], "aux", "targeting-bits")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "sdss5_target_3_with_groups.csv")
    lines = ["bit,carton_pk,label,program,mapper,alt_program,alt_name"]
    for k, (program, bit) in enumerate(sorted(PROGRAM_BITS.items(), key=lambda kv: kv[1])):
        lines.append(f"{bit},{100 + k},{program}_carton,{program},MWM,{program},{program}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def product_keywords(model: type, sdss_id: int) -> dict:
    """Plausible values of every NOT NULL data-product column of ``model`` (real ASTRA's or
    the stand-in's), unique per ``sdss_id`` (ASTRA's unique indexes include them)."""
    from zeta_payne.astra.ops.ingest import required_columns

    values = {
        "release": "sdss5", "run2d": "v6_2_1", "apred": "1.4", "telescope": "apo25m",
        "sdss_id": sdss_id, "healpix": sdss_id % 196608, "obj": f"2M{sdss_id:08d}+0000000",
        "mjd": 60000, "fieldid": 100, "catalogid": sdss_id, "plate": "1", "fiber": 1,
        "field": "demo", "prefix": "ap", "in_stack": True, "spec_file": f"spec-{sdss_id}.fits",
    }
    return {k: values[k] for k in required_columns(model) if k in values}


def register_spectrum(model=None, sdss_id: int | None = None, programs: str | None = None, **kwargs):
    """A spectrum row made the way the plugin's database has them: a ``Source``, a ``Spectrum``
    registry row and a row of ``model`` (default ``BossCombinedSpectrum``) with every NOT NULL
    column filled. ``programs`` (",mwm_ob,") are the source's carton programs (stand-in)."""
    from zeta_payne.astra import compat

    model = model or compat.BossCombinedSpectrum
    if sdss_id is None:
        _NEXT_ID[0] += 1
        sdss_id = _NEXT_ID[0]
    source_values = {"sdss_id": sdss_id}
    if programs is not None and "sdss5_programs" in compat.Source._meta.fields:  # the stand-in
        source_values["sdss5_programs"] = programs
    source = compat.Source.create(**source_values)
    if programs is not None and "sdss5_target_flags" in compat.Source._meta.fields:  # ASTRA, PostgreSQL
        write_targeting_table()
        names = [p for p in programs.split(",") if p]
        for name in names:
            source.sdss5_target_flags.set_bit(PROGRAM_BITS[name])
        source.save()
    registry = compat.Spectrum.create()
    values = {**product_keywords(model, sdss_id), **kwargs}
    return model.create(spectrum_pk=registry.pk, source=source.pk, **values)
