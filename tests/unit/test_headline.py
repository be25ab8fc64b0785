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


def test_the_box_subset_is_tabulated_beside_the_whole_study(tmp_path):
    import csv

    import pytest

    from zeta_payne.validation.headline import PAPER_BOX, in_box, main, parse_box

    assert parse_box(["paper"]) == PAPER_BOX
    assert parse_box(["m_h=-1:0.5"]) == {"m_h": (-1.0, 0.5)}
    for bad in ("m_h=0.5:-1", "m_h", "=1:2"):
        with pytest.raises(ValueError, match="--box"):
            parse_box([bad])
    rng = np.random.default_rng(3)
    cols = _columns(rng)
    cols["true_m_h"] = rng.uniform(-2.0, 0.8, cols["m_h"].size)
    # the fit is good inside the paper's [M/H] range and lost below it
    spread = np.where(cols["true_m_h"] < -0.8, 1.0, 0.05)
    cols["m_h"] = cols["true_m_h"] + spread * rng.normal(size=spread.size)
    keep = in_box(cols, {"m_h": (-0.8, 0.8)})
    assert 0.45 < keep.mean() < 0.65
    study = tmp_path / "study"
    study.mkdir()
    with open(study / "results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(cols))
        w.writerows(zip(*cols.values(), strict=True))
    out = tmp_path / "headline.md"
    assert main(["--study", f"apogee={study}", "--box", "m_h=-0.8:0.8", "-o", str(out)]) == 0
    text = out.read_text()
    assert "### APOGEE\n" in text and "### APOGEE within m_h -0.8…0.8" in text
    whole, boxed = text.split("### APOGEE within")
    rms = [float(t.split("**")[1]) for t in (whole, boxed) for t in [t[t.index("| m_h [dex]"):]]]
    assert rms[1] < 0.1 < rms[0]  # the subset shows what the box edge hides
    assert f"S/N 50: {int(keep[cols['snr'] == 50].sum())} cases" in boxed
