"""The paper's schedule: phases in fit's history, KL annealing, resume, phase-aware early stopping."""

from pathlib import Path

import keras
import numpy as np
import pytest

from lem_keras import LatentEmotionMemory
from lem_keras.callbacks import AlternatingSchedule, PhaseAwareEarlyStopping, PhaseAwareReduceLROnPlateau

K, V, T, L = 3, 12, 30, 6
TINY = {
    "embedding_dim": 8,
    "hops": 1,
    "latent_hidden": 8,
    "led_dim": 4,
    "ef_dim": 4,
    "le_dim": 4,
    "attention_dim": 4,
    "gru_units": 4,
    "dropout": 0.0,
}


class ConstantLog(keras.callbacks.Callback):
    """Writes a monitored value that never improves after the first epoch of a phase."""

    def on_epoch_end(self, epoch, logs=None):
        logs["flat"] = 1.0


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("interrupted")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, T, size=(8, L)).astype("int32")
    ebow = rng.random((8, V)).astype("float32")
    ebow /= ebow.sum(1, keepdims=True)
    labels = (rng.random((8, K)) < 0.4).astype("float32")
    return {"tokens": tokens, "ebow": ebow}, labels


def _model():
    keras.utils.set_random_seed(0)
    model = LatentEmotionMemory(K, V, T, **TINY)
    model.compile(optimizer="adam")
    return model


def _schedule():
    return AlternatingSchedule(
        pretrain_epochs=2, latent_epochs=1, plateau_patience=1, monitor="flat", mode="min", kl_anneal_epochs=4
    )


# latent x2 (pre-training), joint: best, plateau -> latent x1, joint: best, plateau -> latent ...
EXPECTED = [0, 0, 1, 1, 0, 1, 1, 0]


def test_schedule_phases_and_kl_annealing(data):
    x, y = data
    model = _model()
    history = model.fit(x, y, batch_size=8, epochs=8, verbose=0, callbacks=[ConstantLog(), _schedule()])
    assert [int(p) for p in history.history["phase"]] == EXPECTED
    assert history.history["kl_weight"] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0])


@pytest.mark.slow  # two fits of 8 epochs
def test_schedule_state_survives_backup_and_restore(data, tmp_path):
    x, y = data
    backup = str(tmp_path / "backup")
    model = _model()
    with pytest.raises(RuntimeError):
        model.fit(
            x,
            y,
            batch_size=8,
            epochs=8,
            verbose=0,
            callbacks=[ConstantLog(), _schedule(), keras.callbacks.BackupAndRestore(backup), Interrupt(5)],
        )
    resumed = _model()
    history = resumed.fit(
        x,
        y,
        batch_size=8,
        epochs=8,
        verbose=0,
        callbacks=[ConstantLog(), _schedule(), keras.callbacks.BackupAndRestore(backup)],
    )
    assert [int(p) for p in history.history["phase"]] == EXPECTED[5:]


@pytest.mark.slow  # two fits of up to 10 epochs
def test_phase_aware_early_stopping_ignores_latent_epochs(data):
    x, y = data
    model = _model()
    stopper = PhaseAwareEarlyStopping(monitor="flat", mode="min", patience=1, restore_best_weights=True)
    schedule = AlternatingSchedule(pretrain_epochs=3, latent_epochs=0, plateau_patience=100, monitor="flat")
    history = model.fit(
        x, y, batch_size=8, epochs=10, verbose=0, callbacks=[ConstantLog(), schedule, stopper]
    )
    phases = [int(p) for p in history.history["phase"]]
    # Three latent epochs never count; joint epoch 4 is best, epoch 5 has not improved -> stop.
    assert phases == [0, 0, 0, 1, 1]
    assert stopper.best_epoch == 3

    plain = keras.callbacks.EarlyStopping(monitor="flat", mode="min", patience=1)
    model = _model()
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=10,
        verbose=0,
        callbacks=[
            ConstantLog(),
            AlternatingSchedule(pretrain_epochs=3, latent_epochs=0, monitor="flat"),
            plain,
        ],
    )
    assert len(history.history["phase"]) == 2  # plain EarlyStopping trips during pre-training


def test_phase_aware_lr_decay_ignores_latent_epochs(data):
    x, y = data
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), latent_optimizer=keras.optimizers.Adam(0.01))
    decay = PhaseAwareReduceLROnPlateau(monitor="flat", mode="min", factor=0.5, patience=1, min_lr=0.0)
    schedule = AlternatingSchedule(pretrain_epochs=3, latent_epochs=0, plateau_patience=100, monitor="flat")
    history = model.fit(x, y, batch_size=8, epochs=6, verbose=0, callbacks=[ConstantLog(), schedule, decay])
    assert [int(p) for p in history.history["phase"]] == [0, 0, 0, 1, 1, 1]
    # The flat value of the three latent epochs is not a plateau; joint epoch 4 sets the
    # best, epochs 5 and 6 do not improve: two halvings, 0.01 -> 0.0025.
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert lr == pytest.approx(0.0025)
    # The latent optimizer is untouched.
    assert float(keras.ops.convert_to_numpy(model.latent_optimizer.learning_rate)) == pytest.approx(0.01)


def _scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of every scalar in the event files under ``log_dir``."""
    import tensorflow as tf

    found: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = value.HasField("tensor")
                number = float(tf.make_ndarray(value.tensor)) if tensor else value.simple_value
                found.setdefault(value.tag, []).append((int(event.step), number))
    return found


@pytest.mark.slow  # fits and reads TensorBoard event files
def test_tensorboard_steps_advance_in_latent_epochs_and_log_both_learning_rates(data, tmp_path):
    from lem_keras.callbacks import PhaseAwareTensorBoard

    x, y = data
    model = _model()
    schedule = AlternatingSchedule(pretrain_epochs=1, latent_epochs=1, plateau_patience=1, monitor="flat",
                                   mode="min")
    board = PhaseAwareTensorBoard(str(tmp_path), write_steps_per_second=True)
    history = model.fit(x, y, batch_size=4, epochs=4, verbose=0, validation_data=(x, y),
                        callbacks=[ConstantLog(), schedule, board])
    assert [int(p) for p in history.history["phase"]] == [0, 1, 1, 0]  # latent epochs first and last
    scalars = _scalars(tmp_path)
    steps = [step for step, _ in scalars["evaluation_loss_vs_iterations"]]
    assert steps == [2, 4, 6, 8]  # two batches per epoch, in every phase
    assert [v for _, v in scalars["epoch_latent_learning_rate"]] == pytest.approx([1e-3] * 4)
    assert [v for _, v in scalars["epoch_learning_rate"]] == pytest.approx([1e-3] * 4)
    assert all(v > 0 for _, v in scalars["epoch_steps_per_second"])
