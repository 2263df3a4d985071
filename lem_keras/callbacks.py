"""The paper's training schedule as Keras callbacks.

Fei et al. (AAAI 2020, "Training"): pre-train the latent emotion module alone (eq. 6), then
train everything jointly (eq. 6 + eq. 17); when the classification loss plateaus, train
the latent module alone again, then jointly again, until the dev score stops improving.
"""

from __future__ import annotations

import enum
import time
import warnings

import keras
import numpy as np

from lem_keras.config import monitor_mode

__all__ = [
    "SCHEDULE_STATE_SIZE",
    "AlternatingSchedule",
    "LatentEpochSkipping",
    "PhaseAwareEarlyStopping",
    "PhaseAwareReduceLROnPlateau",
    "ScheduleSlot",
    "is_latent_epoch",
]


class ScheduleSlot(enum.IntEnum):
    """The layout of ``LatentEmotionMemory.schedule_state``, a float vector that the model
    holds (so that ``BackupAndRestore`` saves it with the weights) and that
    :class:`AlternatingSchedule` alone reads and writes."""

    PHASE = 0  # 0 latent, 1 joint
    EPOCHS_IN_PHASE = 1
    BEST = 2  # best monitored value of the current joint phase
    WAIT = 3  # joint epochs without improvement
    HAS_BEST = 4  # whether BEST is set
    LATENT_RETURNS = 5  # returns to the latent phase so far


SCHEDULE_STATE_SIZE = len(ScheduleSlot)
_PHASE, _EPOCHS_IN_PHASE, _BEST, _WAIT, _HAS_BEST, _LATENT_RETURNS = ScheduleSlot


class AlternatingSchedule(keras.callbacks.Callback):
    """Latent pre-training, then joint ↔ latent alternation on plateaus, with KL annealing.

    * Epochs ``0 .. pretrain_epochs - 1``: latent phase (only the latent module trains).
    * Then joint phase. Each joint epoch compares ``monitor`` (default
      ``val_classification_loss``) with the best value of the current joint phase; after
      ``plateau_patience`` epochs without an improvement larger than ``min_delta`` the
      model goes back to the latent phase for ``latent_epochs`` epochs, then joint again.
      ``latent_epochs=0`` never returns to the latent phase.
    * KL annealing: the latent module's ``kl_weight`` is ``min(1, epoch / kl_anneal_epochs)``
      at the start of each epoch (recomputed from the epoch index; 1 when
      ``kl_anneal_epochs`` is 0).

    The schedule's state (phase, epochs in the phase, best value, epochs without
    improvement, number of returns to the latent phase) lives in the model's
    non-trainable ``schedule_state`` variable and is read back at every epoch start, so a
    run resumed by ``keras.callbacks.BackupAndRestore`` continues where it stopped.

    Args:
        pretrain_epochs: epochs of latent-only pre-training (the paper's code: 300).
        latent_epochs: length of each later return to the latent phase.
        plateau_patience: joint epochs without improvement before returning to latent.
        monitor: log key watched for the joint-phase plateau.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (min if ``"loss"`` is in ``monitor``).
        min_delta: smallest change counted as an improvement.
        kl_anneal_epochs: epochs of linear KL weight warm-up from 0 to 1.
        verbose: print phase changes.
    """

    def __init__(
        self,
        pretrain_epochs: int = 300,
        latent_epochs: int = 10,
        plateau_patience: int = 5,
        monitor: str = "val_classification_loss",
        mode: str = "auto",
        min_delta: float = 0.0,
        kl_anneal_epochs: int = 0,
        verbose: int = 0,
    ):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
        self.pretrain_epochs = int(pretrain_epochs)
        self.latent_epochs = int(latent_epochs)
        self.plateau_patience = int(plateau_patience)
        self.monitor = monitor
        self.mode = monitor_mode(monitor) if mode == "auto" else mode
        self.min_delta = abs(float(min_delta))
        self.kl_anneal_epochs = int(kl_anneal_epochs)
        self.verbose = int(verbose)

    # -- state in the model
    def _state(self) -> np.ndarray:
        return np.array(keras.ops.convert_to_numpy(self.model.schedule_state), dtype="float64")

    def _store(self, state: np.ndarray) -> None:
        self.model.schedule_state.assign(state.astype("float32"))

    def _latent_limit(self, state: np.ndarray) -> int:
        return self.pretrain_epochs if state[_LATENT_RETURNS] == 0 else self.latent_epochs

    def _switch(self, state: np.ndarray, phase: int, epoch: int) -> None:
        state[_PHASE] = phase
        state[_EPOCHS_IN_PHASE] = 0
        state[_WAIT] = 0
        state[_HAS_BEST] = 0
        if phase == 0:
            state[_LATENT_RETURNS] += 1
        if self.verbose:
            print(f"AlternatingSchedule: epoch {epoch + 1} -> {'joint' if phase else 'latent'} phase")

    def on_epoch_begin(self, epoch, logs=None):
        state = self._state()
        if state[_PHASE] == 0 and state[_EPOCHS_IN_PHASE] >= self._latent_limit(state):
            self._switch(state, 1, epoch)
            self._store(state)
        self.model.set_phase("joint" if state[_PHASE] == 1 else "latent")
        weight = 1.0 if self.kl_anneal_epochs <= 0 else min(1.0, epoch / self.kl_anneal_epochs)
        self.model.latent_module.kl_weight.assign(weight)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        state = self._state()
        state[_EPOCHS_IN_PHASE] += 1
        if state[_PHASE] == 0:
            if state[_EPOCHS_IN_PHASE] >= self._latent_limit(state):
                self._switch(state, 1, epoch + 1)
        else:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(
                    f"AlternatingSchedule: `{self.monitor}` is not in the logs ({sorted(logs)}); "
                    "no plateau detection.",
                    stacklevel=2,
                )
            else:
                value = float(value)
                sign = 1.0 if self.mode == "min" else -1.0
                if not state[_HAS_BEST] or sign * (state[_BEST] - value) > self.min_delta:
                    state[_BEST], state[_WAIT], state[_HAS_BEST] = value, 0, 1
                else:
                    state[_WAIT] += 1
                    if state[_WAIT] >= self.plateau_patience:
                        if self.latent_epochs > 0:
                            self._switch(state, 0, epoch + 1)
                        else:
                            state[_WAIT] = 0
        self._store(state)
        logs["kl_weight"] = float(keras.ops.convert_to_numpy(self.model.latent_module.kl_weight))


class LatentEpochSkipping:
    """Mixin for a callback whose ``on_epoch_end`` must not see latent-phase epochs.

    In a latent-only epoch the classifier does not move, so its dev score says nothing
    about the classifier: such an epoch neither counts towards patience, nor resets it,
    nor can become the best epoch. Put the mixin before the Keras callback class.
    """

    def on_epoch_end(self, epoch, logs=None):
        if is_latent_epoch(self.model, logs):
            return
        super().on_epoch_end(epoch, logs)


class PhaseAwareEarlyStopping(LatentEpochSkipping, keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` that ignores latent-phase epochs (see
    :class:`LatentEpochSkipping`); best weights are restored as usual with
    ``restore_best_weights=True``."""


class PhaseAwareReduceLROnPlateau(LatentEpochSkipping, keras.callbacks.ReduceLROnPlateau):
    """``keras.callbacks.ReduceLROnPlateau`` that ignores latent-phase epochs (see
    :class:`LatentEpochSkipping`): it lowers the main optimizer's learning rate (the joint
    phase's); the latent optimizer is untouched."""


def is_latent_epoch(model, logs) -> bool:
    """Whether the epoch just ended trained the latent module alone: its ``phase`` log
    (0 latent, 1 joint, written by ``LatentEmotionMemory.train_step``), else the model's
    current phase."""
    phase = (logs or {}).get("phase")
    if phase is None:
        phase = 1.0 if getattr(model, "phase", "joint") == "joint" else 0.0
    return float(phase) < 0.5


class PhaseAwareTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` for a model trained by two optimizers.

    Keras steps ``evaluation_*_vs_iterations`` (and ``steps_per_second``) with the main
    optimizer's ``iterations``, which stand still in latent-phase epochs (the latent module
    trains with ``model.latent_optimizer``), so those epochs repeat the x value. Here the
    step is the number of training steps of both optimizers together, which advances in
    every epoch; and the latent optimizer's learning rate is logged too, as
    ``latent_learning_rate`` (beside Keras's ``learning_rate`` of the main optimizer).
    """

    def _training_steps(self):
        steps = self.model.optimizer.iterations
        latent = getattr(self.model, "latent_optimizer", None)
        if latent is not None and latent is not self.model.optimizer:
            steps = keras.ops.add(keras.ops.cast(steps, "int64"), keras.ops.cast(latent.iterations, "int64"))
        return keras.ops.cast(steps, "int64")

    def on_test_end(self, logs=None):
        if self.model.optimizer is not None and hasattr(self.model.optimizer, "iterations"):
            with self._val_writer.as_default():
                step = self._training_steps()
                for name, value in (logs or {}).items():
                    self.summary.scalar(f"evaluation_{name}_vs_iterations", value, step=step)
        self._pop_writer()

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if self.write_steps_per_second:
            self._previous_epoch_iterations = keras.ops.cast(self._training_steps(), "float32")

    def _compute_steps_per_second(self):
        done = keras.ops.cast(self._training_steps(), "float32") - self._previous_epoch_iterations
        return float(keras.ops.convert_to_numpy(done)) / max(time.time() - self._epoch_start_time, 1e-9)

    def _collect_learning_rate(self, logs):
        logs = super()._collect_learning_rate(logs)
        latent = getattr(self.model, "latent_optimizer", None)
        if latent is not None:
            logs["latent_learning_rate"] = float(keras.ops.convert_to_numpy(latent.learning_rate))
        return logs
