"""Training the emulator (paper §3.2): RAdam, mini-batches, periodic validation, best checkpoint.

One *iteration* is one pass over the training set in batches; the validation score (mean
absolute error on the validation set) is computed every ``validate_every`` iterations and
the weights are kept whenever it improves. Training state is checkpointed so that an
interrupted run resumes where it stopped (``torch.load(weights_only=True)``: no pickle).

Training stops after ``iterations``, when the time budget ``max_seconds`` is spent, or — with
``plateau_patience`` — when the validation score has stopped falling (:func:`plateau_reached`);
:attr:`TrainOutcome.stop_reason` says which.

*Principal-component training* (``pca_components`` = K > 0, not in the paper): the network is
trained to predict the K leading principal-component coefficients of the training spectra
(mean-squared error in coefficient space, which equals the pixel-space squared error inside
the K-dimensional subspace), then its output layer is multiplied out with the basis:
``W_out = Bᵀ W_c``, ``b_out = Bᵀ b_c + μ``. The exported network has exactly the paper's
architecture (labels → H → H → P pixels) and the same bundle format, but each step costs
~P/K times less (P ≈ 8,000–22,000 pixels, K a few hundred): what makes CPU training
practical. Validation scores are always the pixel-space mean absolute error of the
multiplied-out network, so the truncation error is included.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from zeta_payne.model.emulator import Emulator, EmulatorWeights

__all__ = [
    "STOP_REASONS",
    "TrainConfig",
    "TrainOutcome",
    "plateau_reached",
    "principal_components",
    "train_emulator",
]

#: Why a training run stopped: all iterations done, the validation score stopped falling,
#: the time budget was spent.
STOP_REASONS = ("iterations", "plateau", "time budget")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    Attributes
    ----------
    n_hidden : int
        Width of the two hidden layers (paper: 300).
    batch_size : int
        Spectra per mini-batch (paper: 1000).
    iterations : int
        Passes over the training set (paper: 10^4).
    validate_every : int
        Iterations between validation scores (paper: 100).
    learning_rate : float
        RAdam learning rate (authors: 1e-4).
    final_learning_rate : float or None
        If set, the rate decays geometrically to this value over the run.
    loss : {"l1", "l2"}
        Training loss (authors: L1).
    seed : int
        Seed of initialisation and batch order.
    device : str
        "cpu", "cuda" or "auto" (CUDA when available).
    threads : int
        CPU threads for torch (0: leave torch's default).
    max_seconds : float or None
        Stop after this much training time (at the next validation), keeping the best
        weights; the run can be resumed from its checkpoint with a larger budget.
    pca_components : int
        0: train on pixels (the paper). K > 0: train on the K leading principal components
        of the training spectra and multiply the basis into the output layer (see the
        module docstring); the loss is then the squared error.
    plateau_patience : int
        0: train all ``iterations``. P > 0: stop as soon as the best validation score has
        not fallen by more than the fraction ``plateau_min_improvement`` over the last P
        validations (:func:`plateau_reached`); still bounded by ``iterations`` and
        ``max_seconds``.
    plateau_min_improvement : float
        The relative fall of the best validation score that counts as progress (0.01: 1 %).
    """

    n_hidden: int = 300
    batch_size: int = 1000
    iterations: int = 10_000
    validate_every: int = 100
    learning_rate: float = 1e-4
    final_learning_rate: float | None = None
    loss: str = "l1"
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    max_seconds: float | None = None
    pca_components: int = 0
    plateau_patience: int = 0
    plateau_min_improvement: float = 0.01


@dataclass
class TrainOutcome:
    """Result of a training run.

    Attributes
    ----------
    weights : EmulatorWeights
        The network at its best validation score.
    best_score : float
        Best validation mean absolute error (normalised flux).
    best_iteration : int
        Iteration of the best score.
    iterations_done : int
        Last iteration trained (also when resumed).
    seconds : float
        Wall time of this run [s] (not of earlier, resumed runs).
    history : list of (int, float, float)
        (iteration, train loss, validation score) of every validation.
    device : str
    stop_reason : str
        One of :data:`STOP_REASONS`.
    """

    weights: EmulatorWeights
    best_score: float
    best_iteration: int
    iterations_done: int
    seconds: float
    history: list[tuple[int, float, float]]  # (iteration, train loss, validation score)
    device: str
    stop_reason: str = "iterations"


def plateau_reached(scores: Sequence[float], patience: int, min_improvement: float) -> bool:
    """Whether the validation score has stopped falling.

    Parameters
    ----------
    scores : sequence of float
        Validation scores (lower is better), in order.
    patience : int
        Number of validations to look back (> 0).
    min_improvement : float
        Relative fall of the best score that counts as progress.

    Returns
    -------
    bool
        True when there are more than ``patience`` scores and the best of them is not below
        ``(1 − min_improvement)`` × the best of all but the last ``patience``.
    """
    if patience <= 0 or len(scores) <= patience:
        return False
    before = min(scores[:-patience])
    return min(scores) >= before * (1.0 - min_improvement)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train_emulator(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    x_min: np.ndarray,
    x_max: np.ndarray,
    config: TrainConfig,
    checkpoint: str | os.PathLike | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    initial: EmulatorWeights | None = None,
) -> TrainOutcome:
    """Train an :class:`Emulator` on labels → spectra.

    Parameters
    ----------
    x_train, x_valid : numpy.ndarray, shape (N, L)
        Physical labels.
    y_train, y_valid : numpy.ndarray, shape (N, P)
        Normalised spectra.
    x_min, x_max : numpy.ndarray, shape (L,)
        Scaling box.
    config : TrainConfig
        Hyper-parameters.
    checkpoint : path-like, optional
        File for resumable training state (written atomically every validation).
    progress : callable, optional
        ``progress(iteration, train_loss, validation_score)`` after each validation.
    initial : EmulatorWeights, optional
        Start from these weights (warm start, e.g. a previous bundle trained on a coarser
        grid) instead of a random initialisation; shapes must match.
    """
    if config.threads:
        torch.set_num_threads(config.threads)
    device = _device(config.device)
    torch.manual_seed(config.seed)
    n_labels, n_pixels = x_train.shape[1], y_train.shape[1]
    target = _Target.pixels()
    if config.pca_components:
        mean, basis = principal_components(y_train, config.pca_components, seed=config.seed)
        if initial is not None:  # a pixel network: project its output layer onto the basis
            initial = _project_output_layer(initial, mean, basis)
        target = _Target(mean.to(device), basis.to(device))
    run = _Run.begin(_new_model(n_labels, target.n_out(n_pixels), config, x_min, x_max, initial, device),
                     config)
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    xv = torch.as_tensor(x_valid, dtype=torch.float32, device=device)
    yv = torch.as_tensor(y_valid, dtype=torch.float32, device=device)
    key = _config_key(config, n_labels, n_pixels)
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.is_file():
        target = run.resume(ckpt, key, device, target)
    yt = target.encode(torch.as_tensor(y_train, dtype=torch.float32, device=device))
    loss_fn = (torch.nn.MSELoss() if target.basis is not None or config.loss != "l1"
               else torch.nn.L1Loss())
    generator = torch.Generator(device="cpu").manual_seed(config.seed + run.start)
    t0 = time.perf_counter()
    patience, min_gain = config.plateau_patience, config.plateau_min_improvement
    stop_reason, start = "iterations", run.start
    if plateau_reached([h[2] for h in run.history], patience, min_gain):  # a resumed run that had stopped
        stop_reason, start = "plateau", config.iterations
    for it in range(start + 1, config.iterations + 1):
        running = run.one_pass(xt, yt, loss_fn, generator, config.batch_size, device)
        out_of_time = config.max_seconds is not None and time.perf_counter() - t0 >= config.max_seconds
        if it % config.validate_every == 0 or it == config.iterations or out_of_time:
            score = run.validate(it, running, target, xv, yv)
            if progress:
                progress(it, running, score)
            if ckpt is not None:
                run.save(ckpt, it, key, target)
        if out_of_time:
            log.info("time budget of %.0f s spent at iteration %d: stopping (resumable)",
                     config.max_seconds, it)
            stop_reason = "time budget"
            break
        if it % config.validate_every == 0 and plateau_reached(
                [h[2] for h in run.history], patience, min_gain):
            log.info("validation score flat for %d validations at iteration %d: stopping", patience, it)
            stop_reason = "plateau"
            break
    run.model.load_state_dict(run.best_state)
    weights = run.model.cpu().to_weights()
    if target.basis is not None:
        weights = _expand_output_layer(weights, target.mean.cpu(), target.basis.cpu())
    return TrainOutcome(
        weights=weights,
        best_score=run.best,
        best_iteration=run.best_iteration,
        iterations_done=int(run.history[-1][0]) if run.history else start,
        seconds=time.perf_counter() - t0,
        history=run.history,
        device=str(device),
        stop_reason=stop_reason,
    )


@dataclass(frozen=True)
class _Target:
    """What the network is trained to emit: pixels, or principal-component coefficients.

    ``mean`` (P,) and ``basis`` (K, P) are the principal components' (None for pixels).
    """

    mean: torch.Tensor | None
    basis: torch.Tensor | None

    @classmethod
    def pixels(cls) -> _Target:
        return cls(None, None)

    def n_out(self, n_pixels: int) -> int:
        """The network's output size."""
        return n_pixels if self.basis is None else int(self.basis.shape[0])

    def encode(self, y: torch.Tensor) -> torch.Tensor:
        """Spectra (N, P) as the network's targets: themselves, or coefficients (N, K)."""
        return y if self.basis is None else (y - self.mean) @ self.basis.T

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """The network's output as spectra (N, P)."""
        return out if self.basis is None else out @ self.basis + self.mean

    def checkpoint_extra(self) -> dict:
        return {} if self.basis is None else {"pca_mean": self.mean.cpu(), "pca_basis": self.basis.cpu()}


def _new_model(n_labels: int, n_out: int, config: TrainConfig, x_min: np.ndarray, x_max: np.ndarray,
               initial: EmulatorWeights | None, device: torch.device) -> Emulator:
    """A fresh network, or ``initial``'s weights rescaled to this box, on ``device``."""
    model = Emulator(n_labels, n_out, config.n_hidden, x_min, x_max)
    if initial is not None:
        if [w.shape for w in initial.weights] != [p.weight.shape for p in model.layers]:
            raise ValueError("initial weights do not match the network's shape")
        # another box (e.g. v_micro widened from 1-4 to 1-6 km/s): the same function of the
        # physical labels in the new scaling
        model.load_state_dict(Emulator.from_weights(rescale_input_layer(initial, x_min, x_max)).state_dict())
    return model.to(device)


@dataclass
class _Run:
    """A training run's state: what it carries from one validation to the next and into its
    checkpoint (the network, optimiser and schedule, the best weights and score, the history)."""

    model: Emulator
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    best_state: dict
    start: int = 0
    best: float = float("inf")
    best_iteration: int = 0
    history: list[tuple[int, float, float]] = field(default_factory=list)

    @classmethod
    def begin(cls, model: Emulator, config: TrainConfig) -> _Run:
        """RAdam at ``config.learning_rate``, decaying geometrically to the final rate if set."""
        optimizer = torch.optim.RAdam(model.parameters(), lr=config.learning_rate)
        gamma = 1.0
        if config.final_learning_rate:
            gamma = (config.final_learning_rate / config.learning_rate) ** (1.0 / max(config.iterations, 1))
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
        return cls(model, optimizer, scheduler, _copy_state(model))

    def resume(self, path: Path, key: str, device: torch.device, target: _Target) -> _Target:
        """Take up the run saved at ``path`` if it was made with the same configuration
        (``key``); returns the target the saved weights were made for."""
        state = torch.load(path, map_location=device, weights_only=True)
        if state.get("config") != key:
            log.warning("checkpoint %s is for another configuration; starting afresh", path)
            return target
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.best_state = state["best"]
        self.start = int(state["iteration"])
        self.best = float(state["best_score"])
        self.best_iteration = int(state["best_iteration"])
        self.history = [tuple(h) for h in state["history"].tolist()]
        if target.basis is not None and "pca_basis" in state:  # the basis the weights were made for
            target = _Target(state["pca_mean"].to(device), state["pca_basis"].to(device))
        torch.set_rng_state(state["rng"])
        log.info("resuming training at iteration %d (best %.5f)", self.start, self.best)
        return target

    def one_pass(self, xt: torch.Tensor, yt: torch.Tensor, loss_fn: torch.nn.Module,
                 generator: torch.Generator, batch_size: int, device: torch.device) -> float:
        """One iteration: a pass over the training set in shuffled batches; its mean loss."""
        self.model.train()
        n = xt.shape[0]
        order = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for b in range(0, n, batch_size):
            idx = order[b : b + batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(self.model(xt[idx]), yt[idx])
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * idx.numel()
        self.scheduler.step()
        return total / n

    def validate(self, it: int, running: float, target: _Target, xv: torch.Tensor,
                 yv: torch.Tensor) -> float:
        """The pixel-space mean absolute error on the validation set; kept in the history, and
        the weights kept when it is the best so far."""
        self.model.eval()
        with torch.no_grad():
            score = float(torch.mean(torch.abs(target.decode(self.model(xv)) - yv)))
        self.history.append((it, running, score))
        if score < self.best:
            self.best, self.best_iteration = score, it
            self.best_state = _copy_state(self.model)
        return score

    def save(self, path: Path, it: int, key: str, target: _Target) -> None:
        """Write the run's state at iteration ``it`` to ``path`` (atomically)."""
        _save_checkpoint(path, self.model, self.optimizer, self.scheduler, self.best_state, it,
                         self.best, self.best_iteration, self.history, key, target.checkpoint_extra())


def _copy_state(model: Emulator) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def principal_components(y: np.ndarray, k: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and the ``k`` leading principal directions of spectra ``y``.

    Parameters
    ----------
    y : numpy.ndarray, shape (N, P)
        Training spectra.
    k : int
        Number of components (≤ min(N, P)).
    seed : int
        Seed of the randomized range finder.

    Returns
    -------
    mean : torch.Tensor, shape (P,), float32
    basis : torch.Tensor, shape (k, P), float32
        Orthonormal rows.
    """
    yt = torch.as_tensor(y, dtype=torch.float32)
    k = int(min(k, *yt.shape))
    mean = yt.mean(dim=0)
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        _, _, v = torch.svd_lowrank(yt - mean, q=min(k + 20, *yt.shape), niter=4)
    finally:
        torch.set_rng_state(state)
    return mean, v[:, :k].T.contiguous()


def rescale_input_layer(weights: EmulatorWeights, x_min: np.ndarray, x_max: np.ndarray
                        ) -> EmulatorWeights:
    """The same network in another scaling box: an exact change of the first layer.

    A label ``x`` enters as ``(x − x_min) / (x_max − x_min) − 0.5``. Moving to a box
    ``(x_min', x_max')`` writes the old scaled input as ``a·s' + c`` with
    ``a = w'/w`` and ``c = (x_min' − x_min + w'/2)/w − 1/2`` (``w`` the box widths), so
    ``W s + b = (W diag a) s' + (b + W c)``: the network's output is unchanged for every
    physical label, inside the old box and beyond it.

    Parameters
    ----------
    weights : EmulatorWeights
        Trained in the box ``(weights.x_min, weights.x_max)``, each of shape (L,).
    x_min, x_max : numpy.ndarray, shape (L,)
        The new box, in the labels' physical units.

    Returns
    -------
    EmulatorWeights
        First layer and its bias changed (float32 as stored), the box replaced.
    """
    x_min, x_max = np.asarray(x_min, dtype=np.float64), np.asarray(x_max, dtype=np.float64)
    if x_min.shape != np.shape(weights.x_min) or x_max.shape != np.shape(weights.x_max):
        raise ValueError("the new box must have one bound pair per label of the network")
    if np.any(x_max <= x_min):
        raise ValueError("x_max must exceed x_min for every label")
    old_min = np.asarray(weights.x_min, dtype=np.float64)
    old_width = np.asarray(weights.x_max, dtype=np.float64) - old_min
    width = x_max - x_min
    a = width / old_width
    c = (x_min - old_min + 0.5 * width) / old_width - 0.5
    w0 = weights.weights[0].astype(np.float64)  # (H, L)
    w_new = (w0 * a[None, :]).astype(np.float32)
    b_new = (weights.biases[0].astype(np.float64) + w0 @ c).astype(np.float32)
    return EmulatorWeights(
        weights=(w_new, *weights.weights[1:]),
        biases=(b_new, *weights.biases[1:]),
        x_min=x_min,
        x_max=x_max,
    )


def _project_output_layer(weights: EmulatorWeights, mean: torch.Tensor, basis: torch.Tensor
                          ) -> EmulatorWeights:
    """Inverse of :func:`_expand_output_layer` for a pixel network: B W_out, B (b_out − μ)."""
    b = basis.double().numpy()
    w_c = (b @ weights.weights[-1].astype(np.float64)).astype(np.float32)
    b_c = (b @ (weights.biases[-1].astype(np.float64) - mean.double().numpy())).astype(np.float32)
    return EmulatorWeights(
        weights=(*weights.weights[:-1], w_c),
        biases=(*weights.biases[:-1], b_c),
        x_min=weights.x_min,
        x_max=weights.x_max,
    )


def _expand_output_layer(weights: EmulatorWeights, mean: torch.Tensor, basis: torch.Tensor
                         ) -> EmulatorWeights:
    """Multiply the coefficient-space output layer out into pixels: Bᵀ W_c, Bᵀ b_c + μ."""
    b = basis.double().numpy()
    w_out = (b.T @ weights.weights[-1].astype(np.float64)).astype(np.float32)
    b_out = (b.T @ weights.biases[-1].astype(np.float64) + mean.double().numpy()).astype(np.float32)
    return EmulatorWeights(
        weights=(*weights.weights[:-1], w_out),
        biases=(*weights.biases[:-1], b_out),
        x_min=weights.x_min,
        x_max=weights.x_max,
    )


def _config_key(config: TrainConfig, n_labels: int, n_pixels: int) -> str:
    d = asdict(config)
    for key in ("threads", "device", "max_seconds", "plateau_patience", "plateau_min_improvement"):
        d.pop(key)
    return f"{sorted(d.items())}|{n_labels}|{n_pixels}"


def _save_checkpoint(
    path: Path, model, optimizer, scheduler, best_state, it, best, best_it, history, key, extra=None
) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "best": best_state,
            "iteration": it,
            "best_score": best,
            "best_iteration": best_it,
            "history": torch.tensor(history, dtype=torch.float64),
            "rng": torch.get_rng_state(),
            "config": key,
            **(extra or {}),
        },
        tmp,
    )
    os.replace(tmp, path)
