"""``zeta-payne fit --batch-size N --device``: spectra go to the batched fitter in batches,
rows are written per batch, Ctrl-C keeps the finished batches (issue 16)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from zeta_payne.cli import main
from zeta_payne.fitting.batched import BatchedFit
from zeta_payne.io.npz import write_npz

from ..conftest import BOSS_WAVELENGTH, simulate

N = 10


@pytest.fixture
def spectra_file(tmp_path, toy_boss):
    fluxes, ivars = [], []
    for i in range(N):
        s = simulate(toy_boss, BOSS_WAVELENGTH, np.array([9000.0 + 900 * i, 4.0, 80.0, 2.0, 0.0]), 5.0, 60, i)
        fluxes.append(s.flux)
        ivars.append(s.ivar)
    path = tmp_path / "stars.npz"
    write_npz(path, BOSS_WAVELENGTH, np.array(fluxes), np.array(ivars), name=[f"star-{i}" for i in range(N)])
    return path


@pytest.fixture
def batches(monkeypatch):
    seen: list[int] = []
    real = BatchedFit.fit

    def spy(self, spectra, starts=None):
        seen.append(len(spectra))
        return real(self, spectra, starts)

    monkeypatch.setattr(BatchedFit, "fit", spy)
    return seen


def _fit(spectra_file, toy_boss, out, *extra):
    command = ["fit", str(spectra_file), "--bundle", str(toy_boss.path), "--presearch-points", "256"]
    return main([*command, "-o", str(out), "-q", *extra])


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fit_batch_size_and_parity(spectra_file, toy_boss, tmp_path, batches):
    assert _fit(spectra_file, toy_boss, tmp_path / "b4.csv", "--batch-size", "4", "--device", "cpu") == 0
    assert batches == [4, 4, 2]
    assert _fit(spectra_file, toy_boss, tmp_path / "b1.csv", "--batch-size", "1") == 0
    assert batches == [4, 4, 2]  # one at a time: the per-spectrum path
    new, old = _rows(tmp_path / "b4.csv"), _rows(tmp_path / "b1.csv")
    assert [r["identifier"] for r in new] == [r["identifier"] for r in old] == [f"star-{i}" for i in range(N)]
    for n, o in zip(new, old, strict=True):
        assert n["result_flags"] == o["result_flags"]
        for label in ("teff", "logg", "m_h"):
            assert abs(float(n[label]) - float(o[label])) <= 0.15 * float(o[f"raw_e_{label}"])


def test_fit_default_batch_is_chosen_from_memory(spectra_file, toy_boss, tmp_path, batches, monkeypatch):
    import zeta_payne.fitting.batched as batched_module

    # a fresh worker's footprint: the batch then depends on the budget, not on what this test
    # process happens to hold after the tests before it (that rule: tests/unit/test_batched.py)
    monkeypatch.setattr(batched_module, "_resident_memory", lambda: 600 * 2**20)
    monkeypatch.setattr(batched_module, "_available_memory", lambda: 16 * 2**30)
    assert _fit(spectra_file, toy_boss, tmp_path / "auto.csv") == 0
    assert batches == [N] and len(_rows(tmp_path / "auto.csv")) == N


def test_ctrl_c_keeps_the_finished_batches(spectra_file, toy_boss, tmp_path, monkeypatch, capsys):
    real = BatchedFit.fit
    calls = []

    def interrupted_third(self, spectra, starts=None):
        calls.append(len(spectra))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, spectra, starts)

    monkeypatch.setattr(BatchedFit, "fit", interrupted_third)
    out = tmp_path / "part.csv"
    assert _fit(spectra_file, toy_boss, out, "--batch-size", "3") == 130
    assert "interrupted: 6 of 10 spectra fitted and kept" in capsys.readouterr().err
    assert [r["identifier"] for r in _rows(out)] == [f"star-{i}" for i in range(6)]
