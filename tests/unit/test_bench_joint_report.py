"""The report of benchmarks/bench_joint.py from stored results (no fitting): SB1 rates with the
relative RV errors, the ideal detection rate, the teff bootstrap, the kept summary block."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_joint", ROOT / "benchmarks" / "bench_joint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _epoch(rvs, measured, cov_e, binary, k=0.0):
    members = [
        {
            "v_rad": v,
            "e_v_rad": 2 * e,
            "cov_e_v_rad": e,
            "rchi2": 1.0,
            "sb2_delta_chi2": 0.0,
            "p_tension": 0.5,
            "delta_chi2": 0.1,
        }
        for v, e in zip(measured, cov_e, strict=True)
    ]
    return {
        "truth": [15000.0, 4.0, 100.0, 0.0],
        "binary": binary,
        "k": k,
        "rvs": list(rvs),
        "joint": {"members": members, "flags": 0},
    }


def test_sb1_section(bench):
    far = _epoch([-40.0, 0.0, 40.0], [-41.0, 1.0, 39.0], [3.0, 3.0, 3.0], True, 40.0)
    close = _epoch([10.0, 10.5, 11.0], [10.0, 10.5, 11.0], [3.0, 3.0, 3.0], True, 60.0)
    single = _epoch([5.0] * 3, [5.0, 6.0, 4.0], [3.0, 3.0, 3.0], False)
    text = bench.report({"epochs": [far, close, single], "joint_options": {"single_fits": True}})
    row = next(line for line in text.splitlines() if line.startswith("| binaries K ≥ 20 km/s |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1:4] == ["2", "1", "50%"]  # the far binary flagged, the close one not
    assert float(cells[-1].rstrip("%")) == pytest.approx(50.0, abs=1.0)  # ideal: 1 and ~0.3 %
    assert "max |ΔRV|/σ ≥ 5 | 1 | 1 | 100%" in text
    assert "| single stars | 1 | 0 | 0% |" in text
    assert "0.003 **(default)**" in text


def test_teff_section(bench):
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(40):
        t = 15000.0
        b, a = rng.normal(0, 300), rng.normal(-500, 300)
        pairs.append(
            {
                "truth": [t],
                "boss": {"labels": [t + b]},
                "apogee": {"labels": [t + a]},
                "joint": {"labels": [t + 0.5 * b]},
            }
        )
    lines = bench.teff_section(pairs, ["joint"], ["rchi2"], n_boot=2000)
    row = next(line for line in lines if line.startswith("| `rchi2` |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert float(cells[3]) < 0 and cells[-1] == "1.00"  # joint better than BOSS in every resample
    assert any(line.startswith("| all | 40 |") for line in lines)


def test_summary_block_survives_report_only(bench, tmp_path, monkeypatch):
    single = _epoch([5.0] * 3, [5.0, 6.0, 4.0], [3.0, 3.0, 3.0], False)
    (tmp_path / "results.json").write_text(json.dumps({"epochs": [single], "joint_options": {}}))
    block = f"{bench.SUMMARY_START}\nhand-written\n{bench.SUMMARY_END}"
    (tmp_path / "report.md").write_text(f"# old\n\n{block}\n\nold tables\n")
    monkeypatch.setattr(sys, "argv", ["bench_joint.py", "--report-only", "-o", str(tmp_path)])
    bench.main()
    text = (tmp_path / "report.md").read_text()
    assert block in text and "old tables" not in text and "Multi-epoch" in text
