"""Hyper-parameter search for LEM with KerasTuner (random, Bayesian, Hyperband).

:class:`LEMHyperModel` is a ``keras_tuner.HyperModel``: ``build(hp)`` sizes the network
(hops, E_led, E_ef, memory width, GRU units, dropout, learning rate) through
``training.build_model`` from a copy of a base :class:`~lem_keras.training.TrainConfig`;
``fit(hp, model, ...)`` chooses the length of latent pre-training and trains with the
paper's schedule (``AlternatingSchedule`` + ``PhaseAwareEarlyStopping``). The text
pipeline is fitted once, before the search, and shared by every trial.

:func:`run_search` is what ``lem-keras tune`` runs. Its output directory:

    DIR/model.keras, pipeline.json, config.json, metrics.json   the best model, exactly as
                         ``lem-keras train`` writes one (thresholds calibrated on dev)
    DIR/trials.json, DIR/trials.md   one row per trial: id, worker, status,
                         hyperparameters, objective
    DIR/logs/<trial>/execution0/     TensorBoard scalars and HParams of every trial
    DIR/search/          KerasTuner's project (oracle state, trial checkpoints); a second
                         run with the same DIR resumes the search

Distributed search uses KerasTuner's own chief/worker mode: run the same command with
``KERASTUNER_TUNER_ID=chief`` (serves the oracle, then writes the summary and the best
model) and ``KERASTUNER_TUNER_ID=tuner0``, ``tuner1``, ... (run trials), all with
``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT`` set (``tuning/launch_distributed.py``
does this on 127.0.0.1).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from lem_keras.callbacks import PhaseAwareTensorBoard, is_latent_epoch
from lem_keras.config import MONITORS, TrainConfig, monitor_mode

TUNERS = ("random", "bayesian", "hyperband")
#: What a search can optimise: the monitors of TrainConfig (lem_keras.config.MONITORS).
OBJECTIVES = MONITORS

#: The default search space. Keys are TrainConfig fields; a value is a list (a choice), a
#: dict ``{"min", "max"[, "step"][, "sampling"]}`` (an integer range when both bounds are
#: integers, else a float range), or a scalar (fixed).
DEFAULT_SPACE: dict[str, Any] = {
    "hops": {"min": 1, "max": 5},
    "led_dim": [32, 64, 100, 128],
    "ef_dim": [32, 64, 100, 128],
    "attention_dim": [16, 32, 64],
    "gru_units": [32, 64, 128],
    "dropout": {"min": 0.0, "max": 0.5, "step": 0.05},
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
    "pretrain_epochs": {"min": 0, "max": 10},
}


def _config_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


def load_space(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The search space: :data:`DEFAULT_SPACE` updated by a JSON file and/or a dict.

    The JSON file is either a space (``{"hops": {"min": 1, "max": 3}, ...}``) or an object
    with a ``"space"`` key; ``"replace": true`` beside it starts from an empty space
    instead of the default. A key mapped to ``null`` is removed from the search (it keeps
    the base configuration's value).
    """
    space = dict(DEFAULT_SPACE)
    updates: dict[str, Any] = {}
    if path is not None:
        loaded = json.loads(Path(path).read_text("utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a search space must be a JSON object")
        if "space" in loaded:
            if loaded.get("replace"):
                space = {}
            loaded = loaded["space"]
        updates.update(loaded)
    updates.update(overrides or {})
    for key, value in updates.items():
        if value is None:
            space.pop(key, None)
        else:
            space[key] = value
    validate_space(space)
    return space


def validate_space(space: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first key that is not a TrainConfig field or is malformed."""
    fields = _config_fields()
    for key, spec in space.items():
        if key not in fields:
            raise ValueError(f"search space: {key!r} is not a TrainConfig field")
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"search space: {key!r} has an empty list of choices")
        elif isinstance(spec, dict):
            if "min" not in spec or "max" not in spec:
                raise ValueError(f"search space: {key!r} needs 'min' and 'max'")
            if spec["min"] > spec["max"]:
                raise ValueError(f"search space: {key!r} has min > max")
            unknown = set(spec) - {"min", "max", "step", "sampling"}
            if unknown:
                raise ValueError(f"search space: {key!r} has unknown keys {sorted(unknown)}")


def _declare(hp, name: str, spec: Any):
    if isinstance(spec, list):
        return hp.Choice(name, spec)
    if isinstance(spec, dict):
        low, high = spec["min"], spec["max"]
        sampling = spec.get("sampling", "linear")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(spec.get("step", 1), float):
            return hp.Int(name, low, high, step=spec.get("step", 1), sampling=sampling)
        return hp.Float(name, float(low), float(high), step=spec.get("step"), sampling=sampling)
    return hp.Fixed(name, spec)


class LEMHyperModel(kt.HyperModel):
    """LEM as a KerasTuner hypermodel (see the module docstring).

    Args:
        base_config: the TrainConfig every trial starts from (copied, never changed).
        pipeline: a fitted ``TextPipeline``, shared by all trials.
        emotion_names: the K emotion names.
        space: the search space (:func:`load_space`); default :data:`DEFAULT_SPACE`.
        embedding_matrix: optional initial token embedding (from ``config.embeddings``).
    """

    def __init__(self, base_config, pipeline, emotion_names, space=None, embedding_matrix=None,
                 name="lem", tunable=True, shuffle_epoch=None, wide_init=None):
        super().__init__(name=name, tunable=tunable)
        self.base_config = copy.deepcopy(base_config)
        self.pipeline = pipeline
        self.emotion_names = list(emotion_names)
        self.space = dict(DEFAULT_SPACE if space is None else space)
        validate_space(self.space)
        self.embedding_matrix = embedding_matrix
        self.shuffle_epoch = shuffle_epoch
        self.wide_init = wide_init

    def config_for(self, hp):
        """The TrainConfig of one trial: the base with the trial's values."""
        values = {name: _declare(hp, name, spec) for name, spec in self.space.items()}
        return self.base_config.replace(**values)

    def build(self, hp):
        from lem_keras.training import _seed_everything, build_model

        config = self.config_for(hp)
        _seed_everything(config.seed)
        return build_model(config, self.pipeline, self.emotion_names, self.embedding_matrix, self.wide_init)

    def fit(self, hp, model, *args, **kwargs):
        from lem_keras.training import schedule_callbacks

        config = self.config_for(hp)
        epochs = int(kwargs.get("epochs", config.epochs))
        # Every trial must end with at least one (scored) joint epoch.
        pretrain = max(0, min(int(config.pretrain_epochs), epochs - 1))
        schedule = [*schedule_callbacks(config, pretrain_epochs=pretrain, shuffle_epoch=self.shuffle_epoch),
                    LatentEpochMask(config.monitor)]
        kwargs["callbacks"] = schedule + [_phase_aware(c) for c in kwargs.get("callbacks") or []]
        return model.fit(*args, **kwargs)


def _phase_aware(callback):
    """A trial's ``keras.callbacks.TensorBoard`` (its log directory set by KerasTuner) as a
    :class:`~lem_keras.callbacks.PhaseAwareTensorBoard` (steps advance in latent epochs)."""
    if type(callback) is keras.callbacks.TensorBoard:
        return PhaseAwareTensorBoard(callback.log_dir)
    return callback


def make_hypermodel(base_config, pipeline, emotion_names, space=None, embedding_matrix=None,
                    shuffle_epoch=None, wide_init=None):
    """A :class:`LEMHyperModel` (a ``keras_tuner.HyperModel``)."""
    return LEMHyperModel(base_config, pipeline, emotion_names, space=space, embedding_matrix=embedding_matrix,
                         shuffle_epoch=shuffle_epoch, wide_init=wide_init)


class LatentEpochMask(keras.callbacks.Callback):
    """Gives latent-phase epochs the worst possible objective value (-inf, or +inf for a loss).

    In a latent epoch the classifier did not move, so its dev score must not become a
    trial's best epoch. (NaN does not work: KerasTuner picks the best epoch of the
    returned history with ``argmax``, which selects NaN.)

    Args:
        objective: the log key KerasTuner optimises, e.g. ``val_micro_f1``.
    """

    def __init__(self, objective: str = "val_micro_f1"):
        super().__init__()
        self.objective = objective

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.objective not in logs or not is_latent_epoch(self.model, logs):
            return
        logs[self.objective] = float("inf") if monitor_mode(self.objective) == "min" else float("-inf")


# ----------------------------------------------------------------------------- tuners


def _objective(name: str):
    return kt.Objective(name, direction=monitor_mode(name))


def make_tuner(kind: str, hypermodel, objective: str, max_trials: int, epochs: int, directory,
               project_name: str = "search", seed: int = 0, overwrite: bool = False,
               hyperband_factor: int = 3):
    """A KerasTuner tuner of ``kind`` (random, bayesian, hyperband) that records which
    worker ran each trial in ``directory/project_name/workers/``."""

    classes = {"random": kt.RandomSearch, "bayesian": kt.BayesianOptimization, "hyperband": kt.Hyperband}
    if kind not in classes:
        raise ValueError(f"unknown tuner {kind!r}; choose one of {', '.join(TUNERS)}")

    class Recording(classes[kind]):
        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            self._trial_started = time.time()

        def on_trial_end(self, trial):
            record = {
                "trial_id": trial.trial_id,
                "tuner_id": self.tuner_id,
                "pid": os.getpid(),
                "seconds": round(time.time() - getattr(self, "_trial_started", time.time()), 2),
            }
            folder = Path(self.project_dir) / "workers"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"trial_{trial.trial_id}.json").write_text(json.dumps(record) + "\n", "utf-8")
            super().on_trial_end(trial)

    options = {
        "hypermodel": hypermodel, "objective": _objective(objective), "directory": str(directory),
        "project_name": project_name, "seed": seed, "overwrite": overwrite,
    }
    if kind == "hyperband":
        # Hyperband sizes its own brackets; max_trials is only an upper bound here.
        return Recording(max_epochs=max(epochs, 2), factor=hyperband_factor, **options)
    return Recording(max_trials=max_trials, **options)


# ----------------------------------------------------------------------------- summary


def trial_table(tuner, objective: str) -> list[dict[str, Any]]:
    """One dict per trial: ``trial_id``, ``worker``, ``status``, ``hyperparameters``,
    ``objective`` (the trial's best value, None if it produced none), ``best_step``."""
    workers = {}
    folder = Path(tuner.project_dir) / "workers"
    for path in sorted(folder.glob("trial_*.json")) if folder.is_dir() else []:
        record = json.loads(path.read_text("utf-8"))
        workers[record["trial_id"]] = record
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        score = trial.score
        if score is not None and not math.isfinite(float(score)):
            score = None
        rows.append({
            "trial_id": trial_id,
            "worker": workers.get(trial_id, {}).get("tuner_id"),
            "status": str(trial.status),
            "hyperparameters": {k: _plain(v) for k, v in trial.hyperparameters.values.items()},
            objective: None if score is None else float(score),
            "best_step": trial.best_step,
            "seconds": workers.get(trial_id, {}).get("seconds"),
        })
    return rows


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_table(rows: list[dict[str, Any]], objective: str) -> str:
    """The trials as a Markdown table, best objective first."""
    names = sorted({k for row in rows for k in row["hyperparameters"] if not k.startswith("tuner/")})
    header = ["trial", "worker", "status", *names, objective]
    reverse = monitor_mode(objective) == "max"

    def key(row):
        value = row[objective]
        return (value is None, -value if (value is not None and reverse) else (value or 0.0))

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in sorted(rows, key=key):
        cells = [row["trial_id"], row["worker"] or "-", row["status"]]
        for name in names:
            value = row["hyperparameters"].get(name, "")
            cells.append(f"{value:.3g}" if isinstance(value, float) else str(value))
        cells.append("-" if row[objective] is None else f"{row[objective]:.4f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- search


@dataclasses.dataclass
class SearchResult:
    rows: list[dict[str, Any]]
    best_hyperparameters: dict[str, Any] | None
    best_config: Any
    dev_metrics: dict[str, float] | None
    out_dir: Path
    role: str  # "single", "chief" or "worker"


def distributed_role() -> str:
    """``single`` (no oracle environment), ``chief`` or ``worker`` (KerasTuner's variables)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def run_search(
    base_config,
    train_data,
    dev_data,
    out_dir: str | Path,
    tuner: str = "random",
    max_trials: int = 10,
    epochs: int = 30,
    objective: str | None = None,
    space: dict[str, Any] | None = None,
    overwrite: bool = False,
    verbose: int | str = 0,
    log=print,
    print_table: bool = True,
) -> SearchResult:
    """Fit the pipeline once, search, summarise the trials and save the best model.

    ``objective`` (default: the configuration's ``monitor``, a threshold-free dev metric
    in the shipped configurations) is what the tuner ranks trials by and what each
    trial's early stopping watches; a different one replaces the monitor, and says so.
    In KerasTuner's distributed mode a worker only runs trials and returns an empty
    result; the chief serves the oracle and writes the summary and the best model.
    """
    from lem_keras.data.featurizer import TextPipeline
    from lem_keras.training import TrainResult, finalize, prepare, save_artifacts

    objective = objective or base_config.monitor
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if max_trials < 1 or epochs < 1:
        raise ValueError("max_trials and epochs must be at least 1")
    if objective != base_config.monitor:
        log(f"early stopping watches the objective {objective} instead of the configuration's "
            f"{base_config.monitor}")
    if base_config.ensemble > 1 or base_config.tfidf_blend > 0 or base_config.sentence_blend > 0:
        log(f"each trial trains one LEM (the configuration's ensemble of {base_config.ensemble}, "
            f"TF-IDF member of weight {base_config.tfidf_blend:g} and sentence-embedding member of "
            f"weight {base_config.sentence_blend:g} are not searched)")
    config = base_config.replace(epochs=epochs, monitor=objective, ensemble=1, tfidf_blend=0.0,
                                 sentence_blend=0.0)
    role = distributed_role()
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space(overrides=None) if space is None else space
    validate_space(space)

    # The pipeline is fitted once; in distributed mode the chief's copy is shared.
    shared = out / "search_pipeline"
    pipeline = None
    if role == "worker" and (shared / "pipeline.json").is_file():
        pipeline = TextPipeline.load(shared)
    prepared = prepare(config, train_data, dev_data, log=log, pipeline=pipeline)
    config = prepared.config
    if role == "chief":
        prepared.pipeline.save(shared)
    hypermodel = make_hypermodel(config, prepared.pipeline, prepared.emotion_names, space=space,
                                 embedding_matrix=prepared.embedding_matrix,
                                 shuffle_epoch=prepared.shuffle_epoch, wide_init=prepared.wide_init)
    search_tuner = make_tuner(
        tuner, hypermodel, objective, max_trials, epochs, out, project_name="search",
        seed=config.seed, overwrite=overwrite and role != "worker",
    )
    search_tuner.search(
        prepared.train_ds, validation_data=prepared.dev_ds, epochs=epochs, verbose=verbose,
        # A plain TensorBoard: KerasTuner recognises it by its class name to give every trial its
        # own log directory and HParams; each trial's fit then logs through PhaseAwareTensorBoard.
        callbacks=[keras.callbacks.TensorBoard(str(out / "logs"))],
    )
    if role == "worker":
        return SearchResult([], None, None, None, out, role)

    rows = trial_table(search_tuner, objective)
    table = format_table(rows, objective)
    if print_table:
        log(table)
    (out / "trials.json").write_text(json.dumps({"objective": objective, "tuner": tuner, "trials": rows},
                                                indent=2) + "\n", "utf-8")
    (out / "trials.md").write_text(f"# Trials ({tuner} search, objective {objective})\n\n" + table, "utf-8")

    best_trials = search_tuner.oracle.get_best_trials(1)
    if not best_trials or best_trials[0].score is None:
        log("no trial produced an objective value; no model saved")
        return SearchResult(rows, None, None, None, out, role)
    best = best_trials[0]
    best_config = hypermodel.config_for(best.hyperparameters.copy())
    model = search_tuner.load_model(best)
    final = finalize(model, prepared.pipeline, dev_data)
    result = TrainResult(
        model=model, pipeline=prepared.pipeline, history={}, dev_metrics=final.dev_metrics,
        thresholds=final.thresholds, seconds=time.perf_counter() - start, best_epoch=best.best_step,
        config=best_config,
    )
    save_artifacts(out, result, best_config)
    best_values = {k: _plain(v) for k, v in best.hyperparameters.values.items()}
    log(f"best trial {best.trial_id}: {objective} {best.score:.4f}; model written to {out}")
    return SearchResult(rows, best_values, best_config, final.dev_metrics, out, role)
