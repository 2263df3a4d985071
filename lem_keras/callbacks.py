"""The paper's training schedule as Keras callbacks.

Fei et al. (AAAI 2020, "Training"): pre-train the latent emotion module alone (eq. 6), then
train everything jointly (eq. 6 + eq. 17); when the classification loss plateaus, train
the latent module alone again, then jointly again, until the dev score stops improving.
"""

from __future__ import annotations

import enum
import os
import time
import typing
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
    "ShuffleEpoch",
    "is_latent_epoch",
]


class ScheduleSlot(enum.IntEnum):
    """The layout of ``LatentEmotionMemory.schedule_state``, a float64 vector that the model
    holds (so that ``BackupAndRestore`` saves it with the weights): the training state of
    the schedule's callbacks, each reading and writing only its own slots, so that a
    killed run resumes exactly where it stopped."""

    # AlternatingSchedule
    PHASE = 0  # 0 latent, 1 joint
    EPOCHS_IN_PHASE = 1
    BEST = 2  # best monitored value of the current joint phase
    WAIT = 3  # joint epochs without improvement
    HAS_BEST = 4  # whether BEST is set
    LATENT_RETURNS = 5  # returns to the latent phase so far
    # PhaseAwareEarlyStopping
    STOP_SAVED = 6  # whether the slots below hold a state
    STOP_WAIT = 7
    STOP_BEST = 8  # NaN: no best yet
    STOP_BEST_EPOCH = 9
    # PhaseAwareReduceLROnPlateau
    DECAY_SAVED = 10
    DECAY_WAIT = 11
    DECAY_BEST = 12
    DECAY_COOLDOWN = 13


SCHEDULE_STATE_SIZE = len(ScheduleSlot)
_PHASE, _EPOCHS_IN_PHASE, _BEST, _WAIT, _HAS_BEST, _LATENT_RETURNS = list(ScheduleSlot)[:6]


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
        self.model.schedule_state.assign(state.astype("float64"))

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


class _StateInModel:
    """Mixin: keeps a Keras callback's counters in slots of the model's ``schedule_state``.

    The state is written at every epoch end (before ``BackupAndRestore``, which comes
    later in the list, saves the model) and read back at the first epoch of a ``fit``
    call when the model holds one, i.e. when a killed run is resumed.
    """

    _saved_slot: ScheduleSlot
    _fields: typing.ClassVar[dict[str, ScheduleSlot]]

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._restored = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._restored:
            self._restored = True
            state = _model_state(self.model)
            if state[self._saved_slot]:
                for name, slot in self._fields.items():
                    value = float(state[slot])
                    if not np.isnan(value) and name != "best":
                        value = int(value)
                    setattr(self, name, None if np.isnan(value) else value)
                self._after_restore()
        super().on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        state = _model_state(self.model)
        state[self._saved_slot] = 1.0
        for name, slot in self._fields.items():
            value = getattr(self, name)
            state[slot] = np.nan if value is None else float(value)
        self.model.schedule_state.assign(state)

    def _after_restore(self) -> None:
        pass


def _model_state(model) -> np.ndarray:
    return np.array(keras.ops.convert_to_numpy(model.schedule_state), dtype="float64")


class PhaseAwareEarlyStopping(_StateInModel, LatentEpochSkipping, keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` that ignores latent-phase epochs (see
    :class:`LatentEpochSkipping`) and whose state survives a kill: its counters are in
    the model's ``schedule_state`` and, with ``best_weights_path`` (a ``.weights.h5``
    file, e.g. beside ``BackupAndRestore``'s), its best weights on disk, so that a resumed
    run stops at the same epoch and restores the same weights as an uninterrupted one.
    """

    _saved_slot = ScheduleSlot.STOP_SAVED
    _fields: typing.ClassVar[dict[str, ScheduleSlot]] = {
        "wait": ScheduleSlot.STOP_WAIT,
        "best": ScheduleSlot.STOP_BEST,
        "best_epoch": ScheduleSlot.STOP_BEST_EPOCH,
    }

    def __init__(self, *args, best_weights_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.best_weights_path = best_weights_path

    def on_epoch_end(self, epoch, logs=None):
        previous = self.best_weights
        super().on_epoch_end(epoch, logs)
        if self.best_weights_path and self.best_weights is not None and self.best_weights is not previous:
            self.model.save_weights(self.best_weights_path)

    def _after_restore(self) -> None:
        if self.restore_best_weights and self.best_weights_path and os.path.exists(self.best_weights_path):
            current = self.model.get_weights()
            self.model.load_weights(self.best_weights_path)
            self.best_weights = self.model.get_weights()
            self.model.set_weights(current)


class PhaseAwareReduceLROnPlateau(_StateInModel, LatentEpochSkipping, keras.callbacks.ReduceLROnPlateau):
    """``keras.callbacks.ReduceLROnPlateau`` that ignores latent-phase epochs (see
    :class:`LatentEpochSkipping`): it lowers the main optimizer's learning rate (the joint
    phase's); the latent optimizer is untouched. Its counters survive a kill (the model's
    ``schedule_state``; the learning rate itself is in the optimizer's saved state)."""

    _saved_slot = ScheduleSlot.DECAY_SAVED
    _fields: typing.ClassVar[dict[str, ScheduleSlot]] = {
        "wait": ScheduleSlot.DECAY_WAIT,
        "best": ScheduleSlot.DECAY_BEST,
        "cooldown_counter": ScheduleSlot.DECAY_COOLDOWN,
    }


class ShuffleEpoch(keras.callbacks.Callback):
    """Sets the epoch number that a dataset's shuffle order derives from.

    ``featurizer.make_tf_dataset(..., shuffle=True, shuffle_epoch=variable)`` orders an
    epoch's examples by ``(seed, epoch)``; this callback puts the epoch index (the true one
    after ``BackupAndRestore`` resumes a run) in ``variable`` before the epoch's data is read.
    """

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)


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
            rate = latent.learning_rate  # .numpy(): np.array(variable) warns under numpy 2
            logs["latent_learning_rate"] = float(rate.numpy() if hasattr(rate, "numpy") else rate)
        return logs
