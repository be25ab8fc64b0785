"""The malformed-input corpus through ingestion, the claiming worker and the tasks.

Each case is either rejected at ingestion with a clear message naming the file, or gives
exactly one result row per spectrum; no case crashes the run; a row without finite labels
always carries a bad flag; a surely unusable case is always flagged bad (or rejected).
"""

from __future__ import annotations

import math
import os

import pytest

from tests.fuzz.corpus import Case, build_corpus
from zeta_payne.exceptions import SpectrumError

#: Fit options: cheap, but converging on good spectra (so both branches of the checks run).
FUZZ_OPTIONS = {
    "boss": {
        "presearch_points": 16,
        "max_nfev": 10,
        "compute_uncertainties": False,
        "n_chebyshev": 3,
        "wavelength_range": (5000.0, 5300.0),
    },
    "apogee": {
        "presearch_points": 16,
        "max_nfev": 10,
        "compute_uncertainties": False,
        "n_chebyshev": 3,
        "wavelength_range": (15200.0, 15350.0),
    },
}
LABELS = ("teff", "logg", "v_sini", "m_h", "v_rad")
#: The corpus must stay at least this large.
MIN_CASES = 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, toy_boss, toy_apogee) -> list[Case]:
    return build_corpus(tmp_path_factory.mktemp("corpus"), {"boss": toy_boss, "apogee": toy_apogee})


def row_problems(row, case: Case) -> list[str]:
    """What is wrong with one result row (nothing, for a good row)."""
    problems = []
    values = [getattr(row, name) for name in LABELS]
    finite = all(v is not None and math.isfinite(v) for v in values)
    if not (finite or row.flag_bad):
        problems.append(f"{case.name}: labels {values} without a bad flag")
    from zeta_payne.astra import compat

    unusable = case.unusable and not (compat.HAVE_ASTRA and case.notes.get("grid_card"))
    if unusable and not row.flag_bad:
        problems.append(f"{case.name}: unusable input not flagged bad (flags {row.result_flags})")
    for name in ("e_teff", "chi2", "rchi2", "snr"):
        value = getattr(row, name)
        if not (value is None or math.isfinite(value)):
            problems.append(f"{case.name}: {name} = {value}")
    return problems


def test_corpus_is_large_enough(corpus):
    assert len(corpus) >= MIN_CASES
    assert sum(c.path is not None for c in corpus) >= 200
    assert sum(c.arrays is not None for c in corpus) >= 40


@pytest.mark.slow
def test_corpus_is_reproducible(corpus, tmp_path, toy_boss, toy_apogee):
    again = build_corpus(tmp_path, {"boss": toy_boss, "apogee": toy_apogee})
    assert [c.name for c in again] == [c.name for c in corpus]
    for first, second in zip(corpus, again, strict=True):
        if first.path is not None:
            assert first.path.read_bytes() == second.path.read_bytes(), first.name


@pytest.fixture
def sqlite_database(tmp_path):
    from zeta_payne.astra.database import bind_database, create_tables, open_database, parse_url

    db = open_database(parse_url(f"sqlite:///{tmp_path / 'fuzz.sqlite'}"))
    bind_database(db)
    db.connect()
    create_tables(inputs=True)
    yield db
    db.close()


def test_files_are_rejected_clearly_or_give_flagged_rows(
    corpus, sqlite_database, tmp_path, toy_boss, toy_apogee
):
    from zeta_payne.astra.model import ZetaPayne
    from zeta_payne.astra.ops.ingest import ingest_files
    from zeta_payne.astra.queue.worker import run_worker

    registered: dict[int, Case] = {}
    rejected = []
    for case in (c for c in corpus if c.path is not None):
        report = ingest_files([case.path], chosen_class="oba")  # anything but SpectrumError escapes
        if report.errors:  # one line per file or per spectrum refused, each naming the file
            for _, message in report.errors:
                assert os.path.basename(case.path) in message and len(message) < 2000, case.name
            if not report.spectra:
                rejected.append(case)
                continue
        assert report.spectra, f"{case.name}: neither rejected nor registered"
        for spectrum in report.spectra:
            registered[int(spectrum.spectrum_pk)] = case
    for instrument, bundle in (("boss", toy_boss), ("apogee", toy_apogee)):
        summary = run_worker(_options(instrument, bundle, tmp_path))
        assert summary.status == "finished" and not summary.errors
    rows = {int(r.spectrum_pk): r for r in ZetaPayne.select()}
    assert sorted(rows) == sorted(registered), "every registered spectrum has exactly one row"
    problems = [p for pk, case in registered.items() for p in row_problems(rows[pk], case)]
    assert not problems, "\n".join(problems)
    good = [r for pk, r in rows.items() if not r.flag_bad]
    assert good, "some cases are usable: the fitted branch of the checks must run"
    print(f"\n{len(rejected)} files rejected, {len(registered)} spectra fitted, {len(good)} not flagged bad")


def _options(instrument, bundle, tmp_path):
    from zeta_payne.astra.queue.worker import WorkerOptions

    return WorkerOptions(
        instruments=(instrument,),
        bundles={instrument: str(bundle.path)},
        fit_options=FUZZ_OPTIONS[instrument],
        output_dir=str(tmp_path / "products"),
        batch_size=50,
        chunk_size=25,
    )


def test_in_memory_arrays_give_one_flagged_row_each(corpus, toy_boss, toy_apogee):
    from zeta_payne.astra import compat
    from zeta_payne.astra.tasks import zeta_payne_apogee, zeta_payne_boss

    cases = [c for c in corpus if c.arrays is not None]
    assert len(cases) >= 40
    for instrument, task, model, bundle in (
        ("boss", zeta_payne_boss, compat.BossCombinedSpectrum, toy_boss),
        ("apogee", zeta_payne_apogee, compat.ApogeeCombinedSpectrum, toy_apogee),
    ):
        mine = [c for c in cases if c.instrument == instrument]
        spectra = []
        for pk, case in enumerate(mine, start=1):
            spectrum = model(spectrum_pk=pk, telescope="apo25m")
            for name in ("wavelength", "flux", "ivar", "pixel_flags", "wresl"):
                setattr(spectrum, name, case.arrays.get(name))
            spectra.append(spectrum)
        rows = list(
            task(
                spectra,
                bundle=bundle,
                fit_options=FUZZ_OPTIONS[instrument],
                output_dir=None,
                route=False,
                write_to_database=False,
            )
        )
        assert len(rows) == len(mine)
        problems = [p for row, case in zip(rows, mine, strict=True) for p in row_problems(row, case)]
        assert not problems, "\n".join(problems)


def test_spectrum_rejects_bad_wavelengths_with_clear_errors():
    import numpy as np

    from zeta_payne.fitting.spectrum import Spectrum

    w = np.linspace(5000.0, 6000.0, 10)
    for wavelength, message in (
        (np.array([]), "empty"),
        (w[::-1], "strictly increasing"),
        (np.where(np.arange(10) == 2, np.nan, w), "NaN"),
        (w - 5500.0, "positive"),
    ):
        with pytest.raises(SpectrumError, match=message):
            Spectrum(wavelength, np.ones(wavelength.size), np.ones(wavelength.size))
