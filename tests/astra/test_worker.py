"""Claiming workers in-process on SQLite and PostgreSQL: disjoint claims, verification,
take-over of dead workers' batches, poison spectra, stopping, products and temporary files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.astra.scale import CHEAP, populate
from zeta_payne.astra import compat
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.products import product_path
from zeta_payne.astra.queue import claims as cl
from zeta_payne.astra.queue.worker import WorkerOptions, pending_count, run_worker
from zeta_payne.astra.routing import pending_query

BOSS = compat.BossCombinedSpectrum


def _options(toy_boss, tmp_path, **kwargs) -> WorkerOptions:
    values = dict(
        instruments=("boss",),
        bundles={"boss": str(toy_boss.path)},
        fit_options=CHEAP["boss"],
        output_dir=str(tmp_path / "products"),
        batch_size=4,
        chunk_size=4,
        poll=0.2,
    )
    values.update(kwargs)
    return WorkerOptions(**values)


@pytest.fixture
def spectra(database, tmp_path, toy_boss):
    """8 routed BOSS spectra in the test database."""
    return populate(tmp_path / "files", {"boss": toy_boss}, {"boss": 8}, n_files=2)["boss"]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_claims_are_disjoint_and_verified(spectra, toy_boss):
    me = cl.WorkerIdentity.current()
    a, b = cl.register_worker(me), cl.register_worker(me)
    pending = pending_query(BOSS, toy_boss)
    first = cl.claim_batch(a, BOSS, pending, 5)
    second = cl.claim_batch(b, BOSS, pending, 100)
    assert len(first) == 5 and len(second) == spectra - 5
    assert not set(first) & set(second)
    assert cl.claim_batch(a, BOSS, pending, 5) == []
    assert not cl.has_unclaimed(BOSS, pending)
    assert cl.claimed_elsewhere(a, [BOSS.__name__]) == spectra - 5
    # a spectrum done (row written, claim released) is neither pending nor claimable again
    done = BOSS.get(BOSS.spectrum_pk == first[0])
    ZetaPayne.from_spectrum(done, bundle_name=toy_boss.name, bundle_version=toy_boss.version).save()
    ZetaPayne.update(bundle_sha256=toy_boss.sha256).execute()
    assert cl.release_claims(a, [first[0]]) == 1
    assert cl.claim_batch(b, BOSS, pending_query(BOSS, toy_boss), 100) == []


def test_dead_workers_claims_are_taken_over(spectra, toy_boss):
    me = cl.WorkerIdentity.current()
    alive, dead_local, silent = (cl.register_worker(me) for _ in range(3))
    pending = pending_query(BOSS, toy_boss)
    cl.claim_batch(alive, BOSS, pending, 2)
    lost_local = cl.claim_batch(dead_local, BOSS, pending, 3)
    lost_silent = cl.claim_batch(silent, BOSS, pending, 3)
    W = cl.ZetaPayneWorker
    W.update(pid=_dead_pid()).where(W.pk == dead_local).execute()
    W.update(heartbeat=time.time() - 1000).where(W.pk == silent).execute()
    other = cl.WorkerIdentity("elsewhere", 1, None)  # no pid check from another host
    assert [r["pk"] for r in cl.mark_dead_workers(600.0, other)] == [silent]
    assert [r["pk"] for r in cl.mark_dead_workers(600.0, me)] == [dead_local]
    taker = cl.register_worker(me)
    taken = cl.take_over_claims(taker, [BOSS.__name__], 100)
    assert sorted(c.spectrum_pk for c in taken) == sorted(lost_local + lost_silent)
    assert {c.attempts for c in taken} == {2}
    assert cl.take_over_claims(cl.register_worker(me), [BOSS.__name__], 100) == []  # alive's stay


def test_worker_fits_each_spectrum_once_with_products(spectra, toy_boss, tmp_path):
    summary = run_worker(_options(toy_boss, tmp_path))
    assert summary.status == "finished" and summary.fitted == spectra
    rows = list(ZetaPayne.select())
    assert len(rows) == len({r.spectrum_pk for r in rows}) == spectra
    assert cl.ZetaPayneClaim.select().count() == 0
    worker = cl.ZetaPayneWorker.get_by_id(summary.workers[0])
    assert (worker.status, worker.n_done, worker.finished is not None) == ("finished", spectra, True)
    with_product = [r for r in rows if r.model_flux_path]
    assert with_product and all(os.path.exists(r.model_flux_path) for r in with_product)
    assert all(r.t_overhead is not None and r.t_elapsed > 0 for r in rows)
    assert run_worker(_options(toy_boss, tmp_path)).fitted == 0


def test_new_spectra_arriving_during_a_run_are_fitted(spectra, toy_boss, tmp_path):
    added = {}

    def arrive(instrument, done, total):
        if not added:
            added.update(populate(tmp_path / "more", {"boss": toy_boss}, {"boss": 6}, n_files=1))

    summary = run_worker(_options(toy_boss, tmp_path, output_dir=None), progress=arrive)
    total = spectra + added["boss"]
    assert summary.fitted == total == ZetaPayne.select().count()
    assert pending_count(_options(toy_boss, tmp_path)) == 0


def test_rerun_after_a_crash_takes_over_and_cleans_up(spectra, toy_boss, tmp_path):
    options = _options(toy_boss, tmp_path)
    me = cl.WorkerIdentity.current()
    crashed = cl.register_worker(cl.WorkerIdentity(me.host, _dead_pid(), None))
    held = cl.claim_batch(crashed, BOSS, pending_query(BOSS, toy_boss), 4)
    # the crashed worker left a temporary product file and a finished product without a row
    final = product_path(options.output_dir, held[0], compat.astra_version)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    temporary = os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.{me.host}.1.abc.tmp")
    for path in (temporary, final):
        with open(path, "wb") as fh:
            fh.write(b"partial")
    summary = run_worker(options)
    assert summary.taken_over == 4 and summary.fitted == spectra
    assert not os.path.exists(temporary)
    rows = {r.spectrum_pk: r for r in ZetaPayne.select()}
    assert len(rows) == spectra
    # the product left without a row was replaced (or removed when the new fit has none)
    assert (rows[held[0]].model_flux_path is not None) == os.path.exists(final)
    if os.path.exists(final):
        assert os.path.getsize(final) > 1000
    assert cl.ZetaPayneWorker.get_by_id(crashed).status == "dead"


def test_poison_spectra_are_isolated_then_given_up(spectra, toy_boss, tmp_path):
    me = cl.WorkerIdentity.current()
    crashed = cl.register_worker(cl.WorkerIdentity(me.host, _dead_pid(), None))
    held = cl.claim_batch(crashed, BOSS, pending_query(BOSS, toy_boss), 3)
    C = cl.ZetaPayneClaim
    C.update(attempts=3).where(C.spectrum_pk == held[0]).execute()  # third death coming
    C.update(attempts=2).where(C.spectrum_pk == held[1]).execute()
    summary = run_worker(_options(toy_boss, tmp_path, max_attempts=3, output_dir=None))
    assert summary.fitted == spectra and summary.abandoned == 1
    given_up = ZetaPayne.get(ZetaPayne.spectrum_pk == held[0])
    assert given_up.flag_runtime_exception and given_up.flag_bad and given_up.teff is None
    assert not ZetaPayne.get(ZetaPayne.spectrum_pk == held[1]).flag_runtime_exception


def test_stop_commits_what_is_fitted_and_releases_the_rest(spectra, toy_boss, tmp_path):
    stop = threading.Event()
    summary = run_worker(
        _options(toy_boss, tmp_path, output_dir=None),
        stop=stop,
        progress=lambda label, done, total: done and stop.set(),  # after the first fitted spectrum
    )
    assert summary.status == "stopped" and summary.fitted == 4
    assert ZetaPayne.select().count() == 4 and cl.ZetaPayneClaim.select().count() == 0
    assert cl.ZetaPayneWorker.get_by_id(summary.workers[0]).status == "stopped"
    assert run_worker(_options(toy_boss, tmp_path, output_dir=None)).fitted == spectra - 4


def test_reprocess_before_refits_each_spectrum_once(spectra, toy_boss, tmp_path):
    import datetime

    run_worker(_options(toy_boss, tmp_path, output_dir=None))
    cutoff = datetime.datetime.now()
    again = run_worker(_options(toy_boss, tmp_path, output_dir=None, reprocess_before=cutoff))
    assert again.fitted == spectra
    assert run_worker(_options(toy_boss, tmp_path, output_dir=None, reprocess_before=cutoff)).fitted == 0


def test_limit_and_missing_bundle(spectra, toy_boss, tmp_path):
    options = _options(toy_boss, tmp_path, output_dir=None, limit=5, instruments=("boss", "apogee"))
    options = WorkerOptions(**{**options.__dict__, "bundles": {**options.bundles, "apogee": "/nonexistent"}})
    summary = run_worker(options)
    assert summary.fitted == 5 and "apogee" in summary.errors
