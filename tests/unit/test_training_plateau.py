"""Training until the validation score stops falling: the rule, the stop, the resume."""

import dataclasses

import numpy as np
import pytest

from zeta_payne.training.trainer import TrainConfig, plateau_reached, train_emulator


def test_plateau_rule():
    assert not plateau_reached([1.0, 0.5, 0.5, 0.5], 0, 0.01)  # off
    assert not plateau_reached([1.0, 0.9, 0.8], 3, 0.01)  # too few validations
    assert plateau_reached([1.0, 0.9, 0.9, 0.9, 0.9], 3, 0.01)
    assert not plateau_reached([1.0, 0.9, 0.9, 0.9, 0.89], 3, 0.01)  # fell by 1.1 % in 3
    assert plateau_reached([1.0, 0.9, 0.9, 0.9, 0.895], 3, 0.01)  # only 0.6 %
    assert plateau_reached([1.0, 0.9, 1.2, 1.3, 1.1], 3, 0.0)  # worse than the best so far
    assert not plateau_reached([1.0, 0.9, 1.2, 1.3, 0.89], 3, 0.0)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (240, 2))
    y = (0.5 + 0.3 * np.sin(3 * x[:, :1]) * np.linspace(0.5, 1.0, 8) - 0.2 * x[:, 1:]).astype(np.float32)
    return x[:200], y[:200], x[200:], y[200:], np.zeros(2), np.ones(2)


CONFIG = TrainConfig(n_hidden=8, batch_size=50, iterations=3000, validate_every=5, learning_rate=3e-2,
                     device="cpu", plateau_patience=4, plateau_min_improvement=0.05)


def test_training_stops_on_a_plateau_and_resumes(problem, tmp_path):
    ckpt = tmp_path / "ckpt"
    out = train_emulator(*problem, CONFIG, checkpoint=ckpt)
    assert out.stop_reason == "plateau"
    scores = [h[2] for h in out.history]
    assert out.iterations_done == out.history[-1][0] < CONFIG.iterations
    # it stopped at the first validation where the rule holds
    assert plateau_reached(scores, 4, 0.05)
    assert not any(plateau_reached(scores[:k], 4, 0.05) for k in range(1, len(scores)))
    assert out.best_score == min(scores) < scores[0]
    # resumed with the same rule: nothing more to do; with a stricter one, training goes on
    again = train_emulator(*problem, CONFIG, checkpoint=ckpt)
    assert again.stop_reason == "plateau" and again.iterations_done == out.iterations_done
    assert np.allclose(again.weights.weights[-1], out.weights.weights[-1])
    patient = dataclasses.replace(CONFIG, plateau_patience=8, plateau_min_improvement=0.01)
    longer = train_emulator(*problem, patient, checkpoint=ckpt)
    assert longer.iterations_done > out.iterations_done
    assert longer.history[: len(out.history)] == out.history


def test_iterations_and_time_budget_still_bound_training(problem):
    short = train_emulator(*problem, dataclasses.replace(CONFIG, iterations=10))
    assert short.stop_reason == "iterations" and short.iterations_done == 10
    off = train_emulator(*problem, dataclasses.replace(CONFIG, iterations=60, plateau_patience=0))
    assert off.stop_reason == "iterations" and off.iterations_done == 60
    budget = train_emulator(*problem, dataclasses.replace(CONFIG, max_seconds=0.0))
    assert budget.stop_reason == "time budget" and budget.iterations_done == 1


def test_default_fit_range_follows_the_model_into_the_blue():
    from zeta_payne.training.pipeline import default_fit_range

    # a v3 grid with the continuum's jumps: the paper's whole range
    v3, n3 = default_fit_range("boss", 3600.0, 10400.0, jumps=True)
    assert 3600 < v3[0] < 3620 and 10340 < v3[1] < 10400 and n3 == 19
    # without them, not across the Balmer jump
    v3n, n3n = default_fit_range("boss", 3600.0, 10400.0)
    assert v3n[0] == 3900.0 and v3n[1] == v3[1] and 15 < n3n < n3
    v2, n2 = default_fit_range("boss", 4478.0, 10220.0)  # a v2 grid: the authors' range
    assert 4500.0 <= v2[0] < 4501.0 and 10160.0 < v2[1] <= 10170.0 and n2 == 15
    small, n_small = default_fit_range("boss", 4810.0, 5390.0)  # a test window
    assert small[0] > 4810 and small[1] < 5390 and n_small == 8
    assert default_fit_range("apogee", 15050.0, 17050.0)[0] == [15050.0 * 1.005, 17050.0 / 1.005]


def test_checkpoint_in_a_folder_that_does_not_exist_yet(problem, tmp_path):
    ckpt = tmp_path / "not" / "yet" / "ckpt"
    out = train_emulator(*problem, dataclasses.replace(CONFIG, iterations=10), checkpoint=ckpt)
    assert out.iterations_done == 10 and ckpt.is_file()


def test_hot_stars_fit_from_4450_with_a_blue_boss_range():
    from zeta_payne.training.pipeline import default_fit_range, hot_fit_range

    rule = hot_fit_range("boss", default_fit_range("boss", 3600.0, 10400.0)[0])
    assert rule == {"blue_limit_outside": {"label": "teff", "range": [0.0, 10000.0], "value": 4450.0}}
    assert hot_fit_range("boss", default_fit_range("boss", 4478.0, 10220.0)[0]) == {}
    assert hot_fit_range("apogee", [15125.0, 16965.0]) == {}


def test_new_boss_bundles_mask_every_interstellar_feature_for_hot_stars():
    """The bands of the fit rule cover each feature the realistic observations put on a
    reddened star (their centres ± 2 widths at R = 2000), and only BOSS gets the rule."""
    from zeta_payne.fitting.options import merge_options
    from zeta_payne.training.pipeline import hot_interstellar_mask
    from zeta_payne.validation.interstellar import INTERSTELLAR_FEATURES

    rule = hot_interstellar_mask("boss")["masked_bands_outside"]
    assert rule["label"] == "teff" and rule["range"] == [0.0, 10000.0]
    for _, centre, intrinsic in INTERSTELLAR_FEATURES:
        reach = 2.0 * np.hypot(intrinsic, centre / 2000.0) / 2.3548
        assert any(lo <= centre - reach and centre + reach <= hi for lo, hi in rule["bands"]), centre
    assert merge_options(hot_interstellar_mask("boss")).masked_bands_outside["bands"] == rule["bands"]
    assert hot_interstellar_mask("apogee") == {}


def test_a_boss_model_without_jumps_breaks_its_response_at_the_paschen_edge():
    from zeta_payne.fitting.options import merge_options
    from zeta_payne.training.pipeline import PASCHEN_EDGE, default_fit_range, jump_segments

    fit_range = default_fit_range("boss", 3600.0, 10400.0)[0]
    rule = jump_segments("boss", fit_range)
    assert rule == {"response_segments": [PASCHEN_EDGE]} and fit_range[0] < 8208.0 < fit_range[1]
    assert tuple(merge_options(rule).response_segments) == (PASCHEN_EDGE,)
    assert jump_segments("boss", fit_range, jumps=True) == {}  # the model emits the jump itself
    assert jump_segments("boss", [3900.0, 8150.0]) == {}  # the range does not cross it
    assert jump_segments("apogee", [15125.0, 16965.0]) == {}


def test_a_warm_start_in_a_wider_box_is_the_same_network(problem):
    """Widening one label's box (v_micro 1-4 → 1-6 km/s) rescales the first layer exactly: the
    warm network predicts what the old one did for the same physical labels, inside the old box
    and beyond it, and training from it starts where the old one ended."""
    import torch

    from zeta_payne.model.emulator import Emulator
    from zeta_payne.training.trainer import rescale_input_layer

    x_train, y_train, x_valid, y_valid, lo, hi = problem
    old = train_emulator(*problem, dataclasses.replace(CONFIG, iterations=200, plateau_patience=0))
    new_lo, new_hi = np.array([-0.5, 0.0]), np.array([1.0, 1.5])
    moved = rescale_input_layer(old.weights, new_lo, new_hi)
    assert np.array_equal(moved.x_min, new_lo) and np.array_equal(moved.x_max, new_hi)
    x = np.random.default_rng(1).uniform(-0.5, 1.5, (50, 2))
    with torch.no_grad():
        before = Emulator.from_weights(old.weights, torch.float64)(torch.as_tensor(x)).numpy()
        after = Emulator.from_weights(moved, torch.float64)(torch.as_tensor(x)).numpy()
    assert np.abs(after - before).max() < 1e-5 * np.abs(before).max()
    # the trainer takes it (it refused another box before): its first score is the old best
    warm = train_emulator(x_train, y_train, x_valid, y_valid, new_lo, new_hi,
                          dataclasses.replace(CONFIG, iterations=1, learning_rate=1e-9),
                          initial=old.weights)
    assert warm.history[0][2] == pytest.approx(old.best_score, rel=1e-4)
    with pytest.raises(ValueError, match="x_max must exceed"):
        rescale_input_layer(old.weights, new_hi, new_lo)
