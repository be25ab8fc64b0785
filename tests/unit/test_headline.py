"""The headline Table 3 statistics (zeta_payne.validation.headline)."""

import numpy as np

from zeta_payne.validation.headline import headline_cells, render_headline


def _columns(rng, n=400, bias=0.0, scale=1.0, error=1.0):
    truth = rng.uniform(-1, 1, n)
    fit = truth + bias + rng.normal(0, scale, n)
    return {
        "snr": np.repeat([np.inf, 50.0], n // 2),
        "result_flags": np.zeros(n, dtype=np.int64),
        "true_m_h": truth,
        "m_h": fit,
        "e_m_h": np.full(n, error),
        "raw_e_m_h": np.full(n, 3 * error),
    }


def test_biased_label_keeps_its_rms_and_reports_the_bias():
    cols = _columns(np.random.default_rng(1), bias=2.0, scale=0.5, error=0.5)
    cells = headline_cells(cols, bad_mask=1, labels=("m_h",))
    cell = cells["50"]["m_h"]
    # the paper's literal band excludes a median of +2 with spread 0.5; the centred band keeps it
    assert cell["reliability_paper"] < 0.1 and cell["reliability"] > 0.95
    assert abs(cell["bias"] - 2.0) < 0.2
    assert abs(cell["rms_all"] - np.hypot(2.0, 0.5)) < 0.2
    # pulls measured about zero: a bias makes errors look too small
    assert cell["pull"] > 3.0


def test_pull_widths_and_bad_rows():
    cols = _columns(np.random.default_rng(2), scale=1.0, error=1.0)
    cols["result_flags"][:20] = 1  # bad rows are left out of the pulls, counted apart
    cols["m_h"][:20] += 100.0
    cells = headline_cells(cols, bad_mask=1, labels=("m_h",))
    cell = cells["inf"]["m_h"]
    assert 0.85 < cell["pull"] < 1.15
    assert 0.25 < cell["pull_raw"] < 0.4
    assert abs(cells["inf"]["all"]["bad_fraction"] - 0.1) < 1e-12
    text = render_headline({"boss": cells}, {}, {"boss": "test"})
    assert "S/N ∞" in text and "m_h [dex]" in text
