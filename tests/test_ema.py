"""Polyak averaging (``TrainConfig.ema_momentum``): dev evaluation, early stopping and the
returned model all use the averaged weights."""

from __future__ import annotations

import numpy as np
import pytest

from lem_keras.data.demo import load_demo
from lem_keras.data.featurizer import make_tf_dataset
from lem_keras.training import TrainConfig, build_model, fit_pipeline, named_config, train
from tests.sizes import TINY_TRAINING

TINY = {
    **TINY_TRAINING,
    "epochs": 5,
    "early_stopping_patience": 10,
    "monitor": "val_classification_loss",
    "learning_rate": 0.01,
}


def test_returned_model_is_the_averaged_best_epoch():
    config = named_config("demo")
    for key, value in TINY.items():
        setattr(config, key, value)
    config.ema_momentum = 0.9
    train_data, dev_data = load_demo("en")
    result = train(config, train_data, dev_data, verbose=0, log=lambda *_: None)

    history = result.history["val_classification_loss"]
    best = result.best_epoch
    assert best is not None and best >= config.pretrain_epochs
    # The weights fit returns are the ones whose dev loss the best epoch logged: the
    # averaged weights, swapped in before validation and before early stopping kept them.
    dev = make_tf_dataset(result.pipeline, dev_data.texts, dev_data.labels, batch_size=256)
    evaluated = result.model.evaluate(dev, verbose=0, return_dict=True)["classification_loss"]
    assert evaluated == pytest.approx(history[best], abs=1e-5)
    optimizer = result.model.optimizer
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.9)
    # Averaging changes what is evaluated: the same run without it logs other dev losses.
    config.ema_momentum = 0.0
    plain = train(config, train_data, dev_data, verbose=0, log=lambda *_: None)
    joint = slice(config.pretrain_epochs, None)
    assert not np.allclose(plain.history["val_classification_loss"][joint], history[joint], atol=1e-4)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_ema_momentum_out_of_range_is_refused(momentum):
    config = TrainConfig(**{k: v for k, v in TINY.items()}, ema_momentum=momentum)
    train_data, _ = load_demo("en")
    pipeline = fit_pipeline(config, train_data)
    with pytest.raises(ValueError, match="ema_momentum"):
        build_model(config, pipeline, list(train_data.emotion_names))


@pytest.mark.parametrize("factor", [-0.5, 1.0])
def test_lr_plateau_factor_out_of_range_is_refused(factor):
    from lem_keras.training import schedule_callbacks

    with pytest.raises(ValueError, match="lr_plateau_factor"):
        schedule_callbacks(TrainConfig(lr_plateau_factor=factor))


def test_lr_plateau_factor_adds_the_phase_aware_decay_after_early_stopping():
    from lem_keras.callbacks import PhaseAwareEarlyStopping, PhaseAwareReduceLROnPlateau
    from lem_keras.training import schedule_callbacks

    callbacks = schedule_callbacks(TrainConfig(lr_plateau_factor=0.3, lr_plateau_min=1e-4, monitor="val_macro_pr_auc"))
    kinds = [type(c) for c in callbacks]
    assert kinds.index(PhaseAwareReduceLROnPlateau) > kinds.index(PhaseAwareEarlyStopping)
    stopper, decay = callbacks[kinds.index(PhaseAwareEarlyStopping)], callbacks[-1]
    # Early stopping watches dev AP; the decay watches the dev loss (its own monitor).
    assert stopper.monitor == "val_macro_pr_auc" and stopper.mode == "max"
    assert decay.factor == pytest.approx(0.3) and decay.monitor == "val_classification_loss" and decay.mode == "min"
    assert decay.min_lr == pytest.approx(1e-4)
    assert PhaseAwareReduceLROnPlateau not in [type(c) for c in schedule_callbacks(TrainConfig())]
