"""The source-level task ``zeta_payne_source`` end to end on SQLite and PostgreSQL: one source
row per source, its visit rows exactly once, reprocessing, the tension flag."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from tests.astra.fixtures import write_star
from tests.conftest import simulate
from zeta_payne.astra import compat
from zeta_payne.astra.ops.ingest import ingest_files
from zeta_payne.astra.source_model import ZetaPayneSource, ZetaPayneVisit
from zeta_payne.astra.source_tasks import zeta_payne_source
from zeta_payne.fitting.joint import JointOptions

#: Quick single-spectrum fits (each instrument its own range).
OPTIONS = {
    "boss": {"presearch_points": 128, "n_chebyshev": 6, "wavelength_range": (4500.0, 6500.0)},
    "apogee": {"presearch_points": 128, "n_chebyshev": 6, "wavelength_range": (15200.0, 15800.0)},
}
SAME = np.array([13000.0, 4.0, 100.0, 2.0, 0.1])


def _row(bundle, instrument, labels, seed):
    from zeta_payne.io.sdss.layout import APOGEE_GRID, BOSS_GRID

    grid = BOSS_GRID if instrument == "boss" else APOGEE_GRID
    spec = simulate(bundle, grid.wavelength, labels, v_rad=6.0, snr=60, seed=seed)
    row = {
        "instrument": instrument,
        "telescope": "apo25m",
        "release": "sdss5",
        "healpix": 2000 + seed,
        "snr": 60.0,
        "flux": spec.flux,
        "ivar": spec.ivar,
        "pixel_flags": np.zeros(grid.n_pixels, np.int32),
    }
    if instrument == "boss":
        row.update(wresl=grid.wavelength / 2000.0, run2d="v6_2_1")
    else:
        row.update(apred="1.4", obj=f"2M{seed:08d}+0000000")
    return row


@pytest.fixture(scope="module")
def stars(tmp_path_factory, toy_boss, toy_apogee):
    folder = tmp_path_factory.mktemp("sources")
    other = np.array([20000.0, 3.4, 30.0, 2.0, -0.5])
    return {
        "matched": write_star(
            folder, 301, [_row(toy_boss, "boss", SAME, 1), _row(toy_apogee, "apogee", SAME, 2)]
        ),
        "mismatched": write_star(
            folder, 302, [_row(toy_boss, "boss", SAME, 3), _row(toy_apogee, "apogee", other, 4)]
        ),
    }


def _run(toy_boss, toy_apogee, **kwargs):
    return list(
        zeta_payne_source(
            mode="joint",
            boss_bundle=toy_boss,
            apogee_bundle=toy_apogee,
            fit_options=OPTIONS,
            live_renderable=object(),
            **kwargs,
        )
    )


def test_joint_sources_with_visit_rows_exactly_once(database, stars, toy_boss, toy_apogee):
    report = ingest_files([stars["matched"], stars["mismatched"]], chosen_class="oba")
    assert len(report.spectra) == 4 and not report.errors
    by_sdss = {}
    for spectrum in report.spectra:
        by_sdss.setdefault(compat.Source.get_by_id(spectrum.source_pk).sdss_id, []).append(spectrum)

    rows = _run(toy_boss, toy_apogee)
    assert len(rows) == 2 and all(r.task_pk is not None for r in rows)
    assert ZetaPayneSource.select().count() == 2 and ZetaPayneVisit.select().count() == 4
    matched = ZetaPayneSource.get(ZetaPayneSource.source_pk == by_sdss[301][0].source_pk)
    mismatched = ZetaPayneSource.get(ZetaPayneSource.source_pk == by_sdss[302][0].source_pk)
    assert matched.mode == "joint" and matched.n_spectra == 2
    assert not matched.flag_bad and not matched.flag_joint_tension, matched.result_flags
    assert matched.teff == pytest.approx(SAME[0], rel=0.05) and matched.e_teff > 0 and matched.cov_e_teff > 0
    assert matched.bundle_name == "toy-boss+toy-apogee" and "+" in matched.bundle_sha256
    assert mismatched.flag_joint_tension and mismatched.flag_bad
    assert mismatched.max_tension > JointOptions().tension_threshold
    visits = list(
        ZetaPayneVisit.select()
        .where(ZetaPayneVisit.source_task_pk == matched.task_pk)
        .order_by(ZetaPayneVisit.spectrum_index)
    )
    assert [v.instrument for v in visits] == ["boss", "apogee"]
    assert {v.spectrum_pk for v in visits} == {s.spectrum_pk for s in by_sdss[301]}
    for v in visits:
        assert v.v_rad == pytest.approx(6.0, abs=2.0) and v.e_v_rad > 0
        assert v.single_teff is not None and v.tension is not None and v.tension >= 0
    assert list(matched.visits.order_by(ZetaPayneVisit.spectrum_index)) == visits
    # bad = an SQL expression too
    assert ZetaPayneSource.select().where(ZetaPayneSource.flag_bad).count() == 1

    # done: nothing pending; a spectrum modified since makes its source pending again, and
    # refitting a source keeps its task_pk and replaces its visits
    assert _run(toy_boss, toy_apogee) == []
    spectrum = by_sdss[301][0]
    model = type(spectrum)
    later = datetime.datetime.now() + datetime.timedelta(days=1)
    model.update(modified=later).where(model.spectrum_pk == spectrum.spectrum_pk).execute()
    again = _run(toy_boss, toy_apogee)
    assert len(again) == 1 and again[0].task_pk == matched.task_pk
    assert ZetaPayneSource.select().count() == 2 and ZetaPayneVisit.select().count() == 4
    assert len(_run(toy_boss, toy_apogee, reprocess=True, limit=1)) == 1
    assert ZetaPayneVisit.select().count() == 4
    # deleting the source result deletes its visits (the foreign key cascades where enforced)
    ZetaPayneVisit.delete().where(ZetaPayneVisit.source_task_pk == mismatched.task_pk).execute()
    assert ZetaPayneVisit.select().count() == 2


@pytest.mark.skipif(compat.HAVE_ASTRA, reason="apVisit rows come from ASTRA's migrations, not ingest")
def test_epochs_source_visits(database, toy_apogee, tmp_path):
    """Observed-frame apVisit spectra of one source: one RV per visit, rv_variable."""
    from zeta_payne.io.sdss import write_apvisit

    chips = np.vstack(
        [np.linspace(16950, 16470, 4096), np.linspace(16430, 15860, 4096), np.linspace(15800, 15140, 4096)]
    )
    order = np.argsort(chips.ravel())
    rvs = [-40.0, 5.0, 45.0]
    files = []
    for i, v in enumerate(rvs):
        spec = simulate(toy_apogee, chips.ravel()[order], SAME, v_rad=v, snr=60, seed=10 + i)
        flux = np.empty(chips.size)
        error = np.empty(chips.size)
        flux[order], error[order] = spec.flux, 1 / np.sqrt(spec.ivar)
        files.append(
            write_apvisit(
                tmp_path / f"apVisit-1.3-apo25m-1-{60000 + i}-001.fits",
                chips,
                flux.reshape(chips.shape),
                error.reshape(chips.shape),
                keywords={"telescope": "apo25m", "sdss_id": 401, "mjd": 60000 + i},
            )
        )
    report = ingest_files(files, chosen_class="oba")
    assert len(report.spectra) == 3 and len({s.source_pk for s in report.spectra}) == 1
    options = {"apogee": {**OPTIONS["apogee"], "rv_range": (-100.0, 100.0)}}
    rows = list(
        zeta_payne_source(
            mode="epochs", apogee_bundle=toy_apogee, fit_options=options, joint_options={"sb2": False}
        )
    )
    assert len(rows) == 1
    row = ZetaPayneSource.get()
    assert row.mode == "epochs" and row.n_spectra == 3 and row.flag_rv_variable
    assert row.rv_peak_to_peak == pytest.approx(85.0, abs=3.0) and row.rv_p_constant < 1e-6
    visits = list(row.visits.order_by(ZetaPayneVisit.spectrum_index))
    assert [v.spectrum_type for v in visits] == ["ApogeeVisitSpectrum"] * 3
    assert sorted(v.v_rad for v in visits) == [pytest.approx(v, abs=2.0) for v in rvs]


def test_db_sources_command(database_url, stars, toy_boss, toy_apogee, tmp_path, capsys):
    import csv

    from zeta_payne.cli import main

    db = ["--database", database_url]
    assert main(["db", "init", "--with-inputs", *db]) == 0
    assert main(["db", "ingest", str(stars["matched"]), "--class", "oba", *db]) == 0
    out, visits = tmp_path / "sources.csv", tmp_path / "visits.csv"
    bundles = ["--bundle-boss", str(toy_boss.path), "--bundle-apogee", str(toy_apogee.path)]
    status = main(["db", "sources", *bundles, *db, "-o", str(out), "--visits", str(visits)])
    assert status == 0
    rows, vrows = list(csv.DictReader(open(out))), list(csv.DictReader(open(visits)))
    assert len(rows) == 1 and rows[0]["sdss_id"] == "301" and rows[0]["mode"] == "joint"
    assert abs(float(rows[0]["teff"]) - SAME[0]) < 0.05 * SAME[0]
    assert len(vrows) == 2 and {v["instrument"] for v in vrows} == {"boss", "apogee"}
    assert all(v["source_task_pk"] == rows[0]["task_pk"] for v in vrows)
    # nothing pending: no refit, the export is the same
    assert main(["db", "sources", *db, "-o", str(out), "--overwrite"]) == 0
    assert "fitted 0 sources" in capsys.readouterr().err
