"""Training: labels (Sobol + Gaussian), training sets from grids, the training loop, bundles."""

from zeta_payne.training.sampling import PAPER_BOX, split_indices, training_labels
from zeta_payne.training.trainer import TrainConfig, TrainOutcome, train_emulator

__all__ = ["PAPER_BOX", "TrainConfig", "TrainOutcome", "split_indices", "train_emulator", "training_labels"]
