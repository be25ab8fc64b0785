"""The ASTRA tasks end to end on SQLite and PostgreSQL: one row per spectrum, flags,
reprocessing rules, ASTRA's calling conventions."""

from __future__ import annotations

import datetime
import importlib
import inspect
import os
import typing
from dataclasses import replace

import numpy as np
import peewee
import pytest

from tests.astra.fixtures import register_spectrum
from zeta_payne.astra import compat
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.ops.ingest import ingest_files
from zeta_payne.astra.products import read_model_flux
from zeta_payne.astra.tasks import zeta_payne, zeta_payne_apogee, zeta_payne_boss

standin_only = pytest.mark.skipif(compat.HAVE_ASTRA, reason="tests the built-in stand-in")


def _new_version(bundle, folder, version):
    from zeta_payne.bundles.bundle import save_bundle

    return save_bundle(folder / f"toy-{version}", replace(bundle.manifest, version=version), bundle.weights)


def test_good_and_corrupt_spectra_give_one_row_each(
    database, products, toy_boss, toy_apogee, fast_options, tmp_path
):
    names = ["good_boss_1", "good_apogee", "truncated", "no_ivar", "wrong_length", "garbage"]
    report = ingest_files([products[n] for n in names], chosen_class="oba")
    assert [os.path.basename(p) for p, _ in report.errors] == [products["garbage"].name]
    spectra = report.spectra
    assert len(spectra) == 5
    rows = list(
        zeta_payne(
            spectra,
            boss_bundle=toy_boss,
            apogee_bundle=toy_apogee,
            fit_options=fast_options,
            output_dir=str(tmp_path / "out"),
            live_renderable=object(),
        )
    )
    assert len(rows) == len(spectra)
    assert all(r.task_pk is not None for r in rows)
    assert ZetaPayne.select().count() == len(spectra)
    by_file = {
        os.path.basename(getattr(s, "file_path", None) or s.path): ZetaPayne.get(
            ZetaPayne.spectrum_pk == s.spectrum_pk
        )
        for s in spectra
    }

    boss = by_file[products["good_boss_1"].name]
    apogee = by_file[products["good_apogee"].name]
    for row, truth, instrument in ((boss, 12500.0, "boss"), (apogee, 16500.0, "apogee")):
        assert not row.flag_bad, row.result_flags
        assert row.instrument == instrument
        assert row.teff == pytest.approx(truth, rel=0.05)
        assert row.e_teff is not None and row.e_teff == row.raw_e_teff
        assert row.bundle_name == f"toy-{instrument}" and row.bundle_sha256
        assert row.t_elapsed > 0 and row.t_overhead is not None
        assert row.chebyshev_coeffs.size == 15
        product = read_model_flux(row.model_flux_path)
        assert np.isfinite(product["model_flux"][product["used"]]).all()
    assert by_file[products["truncated"].name].flag_runtime_exception
    assert by_file[products["wrong_length"].name].flag_runtime_exception
    assert by_file[products["no_ivar"].name].flag_no_pixels
    for name in ("truncated", "wrong_length", "no_ivar"):
        row = by_file[products[name].name]
        assert row.flag_bad and row.teff is None and row.model_flux_path is None


def test_no_column_is_lost_when_a_batch_starts_with_a_failed_fit(
    database, products, toy_boss, fast_options, tmp_path
):
    """ASTRA inserts a batch with ``insert_many(r.__data__ ...)``, whose column list comes from
    the first row: a failed fit first (no product, no labels) must not drop the columns of
    the good fits after it (the decorator, ASTRA's or the stand-in's, does the writing)."""
    names = ["truncated", "no_ivar", "good_boss_1", "good_boss_2"]
    spectra = ingest_files([products[n] for n in names], chosen_class="oba").spectra
    assert [type(s).__name__ for s in spectra] == ["BossCombinedSpectrum"] * 4
    rows = list(
        zeta_payne_boss(
            spectra, bundle=toy_boss, fit_options=fast_options, output_dir=str(tmp_path / "out"),
            batch_size=10,
        )
    )
    assert len(rows) == 4
    stored = {r.spectrum_pk: r for r in ZetaPayne.select()}
    first, *rest = (stored[s.spectrum_pk] for s in spectra)
    assert first.flag_bad and first.model_flux_path is None and first.teff is None
    good = [r for r in rest if not r.flag_bad]
    assert len(good) == 2
    for row in good:
        assert row.model_flux_path and os.path.isfile(row.model_flux_path)
        assert row.teff is not None and row.e_teff is not None and row.chi2 is not None
        assert row.bundle_name == "toy-boss" and row.initial_teff is not None


def test_reprocessing_rules(database, products, toy_boss, toy_apogee, cheap_options, tmp_path):
    routed = ingest_files([products["good_boss_1"], products["good_boss_2"]], chosen_class="oba").spectra
    ingest_files([products["good_apogee"]], chosen_class="fgkm")

    def run(bundle=toy_boss, **kwargs):
        return list(
            zeta_payne_boss(bundle=bundle, fit_options=cheap_options["boss"], output_dir=None, **kwargs)
        )

    first = run()
    assert sorted(r.spectrum_pk for r in first) == sorted(s.spectrum_pk for s in routed)
    # a second run fits nothing new; the APOGEE spectrum is routed elsewhere
    assert run() == []
    assert (
        list(zeta_payne_apogee(bundle=toy_apogee, fit_options=cheap_options["apogee"], output_dir=None)) == []
    )
    # touching one spectrum's `modified` re-queues exactly that one
    touched = routed[1]
    model = type(touched)
    model.update(modified=datetime.datetime.now()).where(model.pk == touched.pk).execute()
    again = run()
    assert [r.spectrum_pk for r in again] == [touched.spectrum_pk]
    assert run() == []
    # a new bundle version re-queues everything; rows are updated in place
    task_pks = {r.spectrum_pk: r.task_pk for r in ZetaPayne.select()}
    newer = _new_version(toy_boss, tmp_path, "0.0.2")
    redone = run(bundle=newer)
    assert len(redone) == 2 and {r.bundle_version for r in ZetaPayne.select()} == {"0.0.2"}
    assert {r.spectrum_pk: r.task_pk for r in ZetaPayne.select()} == task_pks
    assert run(bundle=newer) == []
    # --reprocess forces; routing can be switched off
    assert len(run(bundle=newer, reprocess=True)) == 2
    assert (
        len(
            list(
                zeta_payne_apogee(
                    bundle=toy_apogee, fit_options=cheap_options["apogee"], output_dir=None, route=False
                )
            )
        )
        == 1
    )


def test_astra_style_query_is_narrowed_to_routed_spectra(database, products, toy_boss, cheap_options):
    ingest_files([products["good_boss_1"]], chosen_class="oba")
    ingest_files([products["good_boss_2"]], chosen_class="wd")  # oba not among the top 3
    model, output = compat.BossCombinedSpectrum, ZetaPayne
    version = compat.current_v_astra() // 1000
    on = (output.v_astra_major_minor == version) & (model.spectrum_pk == output.spectrum_pk)
    query = (  # what `astra run` builds and passes to the task
        model.select(model, compat.Source)
        .join(compat.Source, attr="source")
        .switch(model)
        .join(output, peewee.JOIN.LEFT_OUTER, on=on)
        .where(output.spectrum_pk.is_null() | (model.modified > output.modified))
        .order_by(model.modified.desc())
    )
    assert query.count() == 2
    rows = list(
        zeta_payne_boss(query, bundle=toy_boss, fit_options=cheap_options["boss"], output_dir=None, live=True)
    )
    assert len(rows) == 1


def test_resolvable_by_dotted_path_with_real_annotations():
    import __future__

    for name, models in (
        ("zeta_payne_boss", {"BossCombinedSpectrum", "BossRestFrameVisitSpectrum", "BossVisitSpectrum"}),
        ("zeta_payne_apogee", {"ApogeeCombinedSpectrum", "ApogeeVisitSpectrum"}),
        ("zeta_payne", {"BossCombinedSpectrum", "ApogeeCombinedSpectrum", "ApogeeCoaddedSpectrumInApStar"}),
    ):
        module_name, _, attr = f"zeta_payne.astra.tasks.{name}".rpartition(".")
        module = importlib.import_module(module_name)
        assert getattr(module, "annotations", None) is not __future__.annotations
        fun = getattr(module, attr)
        # ASTRA's parsing: `spectra: Iterable[Union[...]]` and `-> Iterable[Output]`
        annotation = inspect.signature(fun).parameters["spectra"].annotation
        spectrum_types = annotation.__args__[0].__args__
        assert all(isinstance(t, type) and issubclass(t, peewee.Model) for t in spectrum_types)
        assert models <= {t.__name__ for t in spectrum_types}
        assert inspect.getfullargspec(fun).annotations["return"].__args__[0] is ZetaPayne
        assert typing.get_type_hints(fun)["return"].__args__[0] is ZetaPayne
        assert "kwargs" in inspect.signature(fun).parameters
        for option in ("batch_size", "write_frequency", "write_to_database", "re_raise_exceptions", "live"):
            assert option not in inspect.signature(fun).parameters


def test_decorator_options_are_consumed(database, products, toy_boss, cheap_options):
    spectra = ingest_files([products["good_boss_1"], products["no_ivar"]], chosen_class="oba").spectra
    common = dict(bundle=toy_boss, fit_options=cheap_options["boss"], output_dir=None, live_renderable=None)
    rows = list(zeta_payne_boss(spectra, write_to_database=False, re_raise_exceptions=True, **common))
    assert len(rows) == 2 and all(r.task_pk is None for r in rows)
    assert ZetaPayne.select().count() == 0
    rows = list(
        zeta_payne_boss(spectra, batch_size=1, write_frequency=0, frequency=0, group_by=None, **common)
    )
    assert len(rows) == 2 and ZetaPayne.select().count() == 2


@standin_only
def test_standin_overheads_and_exceptions(database):
    import time

    from zeta_payne.astra.standin import task

    spectra = [register_spectrum() for _ in range(4)]

    @task
    def slow_setup(spectra, fail_after=None, **kwargs):
        time.sleep(0.2)
        yield ...
        for i, s in enumerate(spectra):
            if fail_after is not None and i == fail_after:
                raise RuntimeError("boom")
            yield ZetaPayne.from_spectrum(s, teff=float(i), t_elapsed=0.01)

    rows = list(slow_setup(spectra))
    assert len(rows) == 4
    assert all(r.t_overhead == pytest.approx(0.05, abs=0.03) for r in rows)
    assert all(r.t_elapsed == pytest.approx(0.01 + r.t_overhead) for r in rows)
    ZetaPayne.delete().execute()
    rows = list(slow_setup(spectra, fail_after=2))  # logged; what came before is written
    assert len(rows) == 2 and ZetaPayne.select().count() == 2
    with pytest.raises(RuntimeError, match="boom"):
        list(slow_setup(spectra, fail_after=1, re_raise_exceptions=True))


def test_every_spectrum_model_is_ingested_and_fitted(
    database, products, toy_boss, toy_apogee, cheap_options, tmp_path
):
    from zeta_payne.io.sdss import write_apstar, write_apvisit, write_boss_spec, write_mwm
    from zeta_payne.io.sdss.layout import APOGEE_GRID, BOSS_GRID

    rng = np.random.default_rng(1)
    boss = BOSS_GRID.wavelength
    visit = {"instrument": "boss", "telescope": "apo25m", "wresl": boss / 2000.0}
    visits = [
        {**visit, "flux": 1 + 0.01 * rng.normal(size=boss.size), "ivar": np.full(boss.size, 1e4)}
        for _ in range(2)
    ]
    files = [
        write_mwm(tmp_path / "mwmVisit-0.8.0-77.fits", {"sdss_id": 77}, visits, filetype="mwmVisit"),
        write_apstar(
            tmp_path / "apStar-1.3-apo25m-2M0.fits",
            1 + 0.01 * rng.normal(size=(4, APOGEE_GRID.n_pixels)),
            np.full((4, APOGEE_GRID.n_pixels), 0.01),
            keywords={"telescope": "apo25m", "obj": "2M0", "n_visits": 2, "sdss_id": 78},
        ),
        write_apvisit(
            tmp_path / "apVisit-1.3-apo25m-1-60000-001.fits",
            np.vstack(
                [
                    np.linspace(16950, 16470, 4096),
                    np.linspace(16430, 15860, 4096),
                    np.linspace(15800, 15140, 4096),
                ]
            ),
            np.ones((3, 4096)),
            np.full((3, 4096), 0.01),
            keywords={"telescope": "apo25m", "sdss_id": 79},
        ),
        write_boss_spec(
            tmp_path / "spec-015000-60000-27021597863.fits",
            np.log10(boss),
            np.ones(boss.size),
            np.full(boss.size, 1e4),
            wdisp=np.full(boss.size, 1.0),
            keywords={"catalogid": 27021597863, "telescope": "apo25m"},
        ),
    ]
    report = ingest_files(files, chosen_class="oba")
    if compat.HAVE_ASTRA:  # these rows come from ASTRA's migrations: refused, each with its reason
        assert report.spectra == [] and {path for path, _ in report.errors} == {str(f) for f in files}
        reasons = " ".join(message for _, message in report.errors)
        assert "needs" in reasons and "migrations" in reasons or "no such table" in reasons
        return
    spectra = report.spectra
    kinds = sorted(type(s).__name__ for s in spectra)
    assert kinds == sorted(
        ["BossRestFrameVisitSpectrum"] * 2
        + ["ApogeeCoaddedSpectrumInApStar"]
        + ["ApogeeVisitSpectrumInApStar"] * 2
        + ["ApogeeVisitSpectrum", "BossVisitSpectrum"]
    )
    # the second ingestion of the same files registers nothing new
    again = ingest_files(files)
    assert again.created == 0 and again.unchanged == len(spectra)
    for instrument, task_fn, bundle in (
        ("boss", zeta_payne_boss, toy_boss),
        ("apogee", zeta_payne_apogee, toy_apogee),
    ):
        rows = list(task_fn(bundle=bundle, fit_options=cheap_options[instrument], output_dir=None))
        assert all(r.instrument == instrument for r in rows)
    assert ZetaPayne.select().count() == len(spectra)
    assert ZetaPayne.select().where(ZetaPayne.flag_runtime_exception).count() == 0


@pytest.mark.skipif(
    compat.HAVE_ASTRA, reason="ASTRA's BossVisitSpectrum rows come from its migrations (ingest refuses them)"
)
def test_observed_frame_spectra_get_a_wide_rv_search(database, toy_boss, tmp_path):
    from tests.conftest import simulate
    from zeta_payne.io.sdss import write_boss_spec
    from zeta_payne.io.sdss.layout import BOSS_GRID

    lam = BOSS_GRID.wavelength
    spec = simulate(toy_boss, lam, np.array([12000.0, 4.0, 60.0, 2.0, 0.0]), v_rad=230.0, snr=100, seed=3)
    path = write_boss_spec(
        tmp_path / "spec-015000-60000-1.fits", np.log10(lam), spec.flux, spec.ivar, wresl=lam / 2000.0
    )
    spectra = ingest_files([path], chosen_class="oba").spectra
    options = {"presearch_points": 256, "n_chebyshev": 6, "compute_uncertainties": False}
    options["wavelength_range"] = (4600.0, 7000.0)
    (row,) = zeta_payne_boss(spectra, bundle=toy_boss, fit_options=options, output_dir=None)
    assert row.v_rad == pytest.approx(230.0, abs=5.0)
    assert not row.flag_rv_at_search_edge
