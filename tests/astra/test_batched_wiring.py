"""The ASTRA task and the claiming worker fit their spectra in batches (issue 16): chunks of
the memory-chosen size go to the batched fitter as one batch each."""

from __future__ import annotations

import pytest

from tests.astra.conftest import CHEAP
from tests.astra.scale import populate
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.pipeline import BossPipeline, process
from zeta_payne.astra.queue.worker import WorkerOptions, run_worker
from zeta_payne.fitting.batched import BatchedFit


@pytest.fixture
def batches(monkeypatch):
    """The sizes of the batches the batched fitter was given, in order."""
    seen: list[int] = []
    real = BatchedFit.fit

    def spy(self, spectra, starts=None):
        seen.append(len(spectra))
        return real(self, spectra, starts)

    monkeypatch.setattr(BatchedFit, "fit", spy)
    return seen


@pytest.fixture
def spectra(database, tmp_path, toy_boss):
    """8 routed BOSS spectra in the test database."""
    return populate(tmp_path / "files", {"boss": toy_boss}, {"boss": 8}, n_files=2)["boss"]


def test_worker_fits_chunks_of_the_memory_chosen_size(spectra, toy_boss, tmp_path, batches, monkeypatch):
    monkeypatch.setattr(BossPipeline, "batch_size", lambda self: 3)
    options = WorkerOptions(
        instruments=("boss",),
        bundles={"boss": str(toy_boss.path)},
        fit_options=CHEAP["boss"],
        output_dir=None,
        batch_size=8,  # claimed together; fitted in chunks of the pipeline's batch size
        poll=0.2,
    )
    assert options.chunk_size is None
    summary = run_worker(options)
    assert summary.fitted == spectra == ZetaPayne.select().count()
    assert batches == [3, 3, 2]


def test_worker_chunk_size_given(spectra, toy_boss, tmp_path, batches):
    options = WorkerOptions(
        instruments=("boss",),
        bundles={"boss": str(toy_boss.path)},
        fit_options=CHEAP["boss"],
        output_dir=None,
        batch_size=8,
        chunk_size=5,
        poll=0.2,
    )
    assert run_worker(options).fitted == spectra
    assert batches == [5, 3]


class _FakePipeline:
    """What :func:`process` asks of a pipeline."""

    def __init__(self, size: int | None) -> None:
        self.size, self.chunks = size, []

    def prepare(self):
        return None

    def batch_size(self) -> int:
        return self.size

    def fit_chunk(self, spectra, setup_error):
        self.chunks.append(len(spectra))
        yield from spectra


@pytest.mark.parametrize(("given", "expected"), [(None, [4, 4, 2]), (3, [3, 3, 3, 1])])
def test_process_chunks_by_the_pipelines_batch_size(given, expected):
    pipeline = _FakePipeline(4)
    rows = [r for r in process(range(10), {"boss": pipeline}, chunk_size=given) if r is not ...]
    assert rows == list(range(10)) and pipeline.chunks == expected


def test_pipeline_batch_size_from_memory(toy_boss):
    from zeta_payne.fitting.batched import CPU_BATCH_CAP

    pipeline = BossPipeline(toy_boss, CHEAP["boss"], output_dir=None)
    size = pipeline.batch_size()
    assert 2 <= size <= CPU_BATCH_CAP
    assert pipeline.fitter.batch_size is None  # chosen, not fixed
