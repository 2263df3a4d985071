"""The training recipe: text pipeline → LEM → paper's schedule → dev thresholds → artefacts.

One place for what the CLI, the benchmarks, the tuner and the notebooks all do, so that a
model trained by any of them is the same model. The layout of a model directory:

    DIR/model.keras      the LatentEmotionMemory (thresholds included), `.keras` format
    DIR/pipeline.json    the fitted text pipeline (vocabularies, language, lengths)
    DIR/config.json      the TrainConfig that produced it
    DIR/metrics.json     dev metrics at the calibrated thresholds
    DIR/logs/            TensorBoard logs
    DIR/backup/          BackupAndRestore state while training runs (removed at the end)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

CONFIG_NAMES = ("demo", "semeval", "ren-cecps", "ren-cecps-words")


@dataclasses.dataclass
class TrainConfig:
    """Every choice that shapes a trained model; saved beside it as ``config.json``."""

    language: str = "en"
    segmentation: str = "auto"
    # Text pipeline.
    max_length: int = 50
    max_tokens: int = 30000
    min_token_count: int = 2
    ebow_max_size: int = 2000
    # eBoW terms: the tokens and their 2..n-grams (with character tokens: character
    # n-grams), chosen together by chi-squared.
    ebow_ngrams: int = 1
    lexicons: list[str] = dataclasses.field(default_factory=list)
    stopwords: str | None = None
    embeddings: str | None = None
    # Unlabeled text (one per line) to pre-train word2vec vectors on when `embeddings` is
    # not set (trained once, cached; see data.embeddings.cached_word2vec).
    embeddings_corpus: str | None = None
    embeddings_method: str = "word2vec"  # or "fasttext" (pre-training on embeddings_corpus)
    # Also give the token vocabulary the pre-trained vectors' words (train words first, up
    # to max_tokens): dev/test words unseen in train keep their pre-trained vectors
    # instead of falling to the OOV token.
    vocabulary_from_vectors: bool = False
    trainable_embeddings: bool = True
    # Architecture (names follow docs/architecture.md).
    embedding_dim: int = 300
    hops: int = 3
    latent_hidden: int = 128
    led_dim: int = 64
    ef_dim: int = 64
    le_dim: int = 64
    attention_dim: int = 32
    gru_units: int = 64
    dropout: float = 0.1
    word_dropout: float = 0.2
    binary_bow: bool = True
    kl_free_bits: float = 0.0
    classifier_residual: bool = False
    emotion_bias: bool = False
    private_output: bool = False
    use_wled: bool = True
    use_rle: bool = True
    # The wide path: a linear term on the eBoW terms' binary TF-IDF added to eq. 16's
    # logits, initialised by a logistic regression (inverse regularisation wide_c) fitted
    # on the training set and trained on with the same L2 penalty (docs/architecture.md).
    wide: bool = False
    wide_c: float = 2.0
    # Optimisation and the paper's schedule.
    batch_size: int = 32
    learning_rate: float = 1e-3
    latent_learning_rate: float = 1e-3
    epochs: int = 30
    pretrain_epochs: int = 5
    latent_epochs: int = 1
    plateau_patience: int = 2
    kl_anneal_epochs: int = 5
    early_stopping_patience: int = 5
    monitor: str = "val_micro_f1"
    # Weight of eq. 17's positive terms per emotion, from the training label frequencies:
    # "none" (the paper), "sqrt" (sqrt(negatives / positives)) or "balanced" (the ratio).
    positive_weighting: str = "none"
    # Polyak averaging of the weights (the main optimizer's ``use_ema``): 0 turns it off;
    # otherwise dev evaluation, early stopping and the saved model use the averaged weights
    # (``keras.callbacks.SwapEMAWeights``).
    ema_momentum: float = 0.0
    # Multiply the joint phase's learning rate by this factor when ``lr_plateau_monitor``
    # has not improved for ``lr_plateau_patience`` joint epochs (PhaseAwareReduceLROnPlateau);
    # 0: off. It may watch another quantity than early stopping's ``monitor``.
    lr_plateau_factor: float = 0.0
    lr_plateau_patience: int = 1
    lr_plateau_monitor: str = "val_classification_loss"
    lr_plateau_min: float = 0.0  # the decay never goes below this learning rate
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DATA_PLACEHOLDER = "{data}"
_PATH_FIELDS = ("embeddings", "embeddings_corpus", "stopwords")


def resolve_data_paths(config: TrainConfig, data_dir: str | Path | None, origin: str = "configuration") -> TrainConfig:
    """Put ``data_dir`` in place of ``{data}`` in the config's file paths and check that
    every file exists (in place; also returned).

    The shipped configurations name resources that live beside the data rather than in
    the package (``{data}/../lexicons/...``). A missing file raises ``FileNotFoundError``
    naming the field, the path and its unresolved form. A Chinese configuration without
    stop words takes a ``stopwords*.txt`` found in ``data_dir`` (Ren-CECps ships one).
    """
    if config.stopwords is None and data_dir is not None and config.language == "zh":
        found = sorted(Path(data_dir).glob("stopwords*.txt"))
        if found:
            config.stopwords = str(found[0])

    def resolve(field: str, raw: str) -> str:
        if DATA_PLACEHOLDER in raw and data_dir is None:
            raise ValueError(
                f"{origin}: {field} {raw!r} is read beside the data, but the data is not a directory; "
                f"give --data DIR or set {field} yourself"
            )
        path = raw.replace(DATA_PLACEHOLDER, str(data_dir)) if data_dir is not None else raw
        if not Path(path).is_file():
            hint = f" ({raw!r} in the {origin})" if raw != path else ""
            raise FileNotFoundError(f"{field}: {path} does not exist{hint}")
        return str(Path(path).resolve()) if raw != path else path

    for field in _PATH_FIELDS:
        value = getattr(config, field)
        if value:
            setattr(config, field, resolve(field, value))
    config.lexicons = [resolve("lexicons", raw) for raw in config.lexicons]
    return config


def named_config(name: str) -> TrainConfig:
    """The shipped configuration for a dataset (``demo``, ``semeval``, ``ren-cecps``)."""
    if name not in CONFIG_NAMES:
        raise ValueError(f"no shipped configuration {name!r}; choose one of {', '.join(CONFIG_NAMES)}")
    text = resources.files("lem_keras").joinpath("configs", f"{name}.json").read_text("utf-8")
    return TrainConfig.from_dict(json.loads(text))


@dataclasses.dataclass
class TrainResult:
    model: Any
    pipeline: Any
    history: dict[str, list[float]]
    dev_metrics: dict[str, float]
    thresholds: np.ndarray
    seconds: float
    best_epoch: int | None = None


def _seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


@functools.lru_cache(maxsize=1)
def _word_vectors(path: str):
    # The pipeline (vocabulary_from_vectors) and the embedding matrix read the same file:
    # load it once per process.
    from lem_keras.data.embeddings import load_word_vectors

    return load_word_vectors(path)


def word_vectors_path(config: TrainConfig) -> str | None:
    """The word-vector file of ``config``: ``embeddings``, else the vectors pre-trained
    (once, cached) on ``embeddings_corpus``; None for random initialisation."""
    if config.embeddings:
        return config.embeddings
    if not config.embeddings_corpus:
        return None
    from lem_keras.data.embeddings import cached_word2vec

    return str(cached_word2vec(config.embeddings_corpus, config.embedding_dim, language=config.language,
                               segmentation=config.segmentation, method=config.embeddings_method))


def fit_pipeline(config: TrainConfig, train):
    """Fit the text pipeline (token and eBoW vocabularies) on the training split."""
    from lem_keras.data.ebow import load_stopwords
    from lem_keras.data.featurizer import TextPipeline

    stopwords = load_stopwords(config.stopwords) if config.stopwords else None
    extra_tokens = None
    if config.vocabulary_from_vectors:
        path = word_vectors_path(config)
        if path is None:
            raise ValueError("vocabulary_from_vectors needs word vectors (embeddings or embeddings_corpus)")
        extra_tokens = list(_word_vectors(path).index_to_key)
    pipeline = TextPipeline()
    pipeline.fit(
        train.texts,
        train.labels,
        language=config.language,
        lexicon_paths=config.lexicons or None,
        stopwords=stopwords,
        max_tokens=config.max_tokens,
        min_count=config.min_token_count,
        extra_tokens=extra_tokens,
        max_length=config.max_length,
        ebow_max_size=config.ebow_max_size,
        segmentation=config.segmentation,
        ebow_ngrams=config.ebow_ngrams,
    )
    return pipeline


def fit_wide(pipeline, texts, labels, c: float) -> dict:
    """The wide path's initial values: one logistic regression per emotion (liblinear,
    inverse regularisation ``c``) on the training texts' binary TF-IDF eBoW features, the
    features the model computes (``LatentEmotionMemory.wide_features``).

    Returns:
        ``{"wide_scale", "wide_kernel", "wide_bias", "wide_l2"}`` for the model, where
        ``wide_l2 = 1 / (2 c N K)`` is the regression's penalty on eq. 17's mean loss.
    """
    from sklearn.linear_model import LogisticRegression

    if c <= 0:
        raise ValueError(f"wide_c must be > 0, got {c!r}")
    scale = np.asarray(pipeline.ebow_idf, dtype="float32")
    if scale.shape != (len(pipeline.ebow_vocabulary),):
        raise ValueError("the pipeline has no eBoW idf (fit it again with this version)")
    x = (pipeline.transform(list(texts))["ebow"] > 0).astype("float32") * scale
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y = np.asarray(labels)
    n, k = y.shape
    kernel = np.zeros((x.shape[1], k), dtype="float32")
    bias = np.zeros(k, dtype="float32")
    for j in range(k):
        column = y[:, j]
        if column.min() == column.max():
            rate = float(np.clip(column.mean(), 1e-3, 1 - 1e-3))
            bias[j] = np.log(rate / (1 - rate))
            continue
        regression = LogisticRegression(C=c, solver="liblinear").fit(x, column)
        kernel[:, j] = regression.coef_[0]
        bias[j] = regression.intercept_[0]
    return {"wide_scale": scale, "wide_kernel": kernel, "wide_bias": bias, "wide_l2": 1.0 / (2 * c * n * k)}


POSITIVE_WEIGHTINGS = ("none", "sqrt", "balanced")


def positive_weights(labels, weighting: str) -> list[float] | None:
    """Eq. 17's per-emotion positive weights from training labels (N, K) (None: unweighted).

    ``sqrt`` gives sqrt(negatives / positives), ``balanced`` the ratio itself; an emotion
    with no positive (or no negative) example gets weight 1.
    """
    if weighting not in POSITIVE_WEIGHTINGS:
        raise ValueError(f"positive_weighting must be one of {', '.join(POSITIVE_WEIGHTINGS)}, got {weighting!r}")
    if weighting == "none":
        return None
    y = np.asarray(labels, dtype="float64")
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ratio = np.where((positives > 0) & (negatives > 0), negatives / np.maximum(positives, 1.0), 1.0)
    weights = np.sqrt(ratio) if weighting == "sqrt" else ratio
    return [float(w) for w in weights]


def build_model(
    config: TrainConfig, pipeline, emotion_names: list[str], embedding_matrix=None, train_labels=None,
    wide_init: dict | None = None,
):
    """A compiled LatentEmotionMemory sized for ``pipeline``.

    ``wide_init`` (from :func:`fit_wide`) gives the wide path its initial values when
    ``config.wide`` is set.

    ``train_labels`` (N, K) set eq. 17's positive weights when ``config.positive_weighting``
    asks for them.
    """
    weights = None
    if config.positive_weighting != "none":
        if train_labels is None:
            raise ValueError(f"positive_weighting={config.positive_weighting!r} needs the training labels")
        weights = positive_weights(train_labels, config.positive_weighting)
    import keras

    from lem_keras import metrics as lem_metrics
    from lem_keras.model import LatentEmotionMemory

    model = LatentEmotionMemory(
        num_emotions=len(emotion_names),
        ebow_size=len(pipeline.ebow_vocabulary),
        vocab_size=len(pipeline.token_vocabulary),
        embedding_dim=config.embedding_dim,
        hops=config.hops,
        latent_hidden=config.latent_hidden,
        led_dim=config.led_dim,
        ef_dim=config.ef_dim,
        le_dim=config.le_dim,
        attention_dim=config.attention_dim,
        gru_units=config.gru_units,
        dropout=config.dropout,
        word_dropout=config.word_dropout,
        binary_bow=config.binary_bow,
        use_wled=config.use_wled,
        use_rle=config.use_rle,
        emotion_names=list(emotion_names),
        embedding_matrix=embedding_matrix,
        trainable_embeddings=config.trainable_embeddings,
        positive_weights=weights,
        kl_free_bits=config.kl_free_bits,
        classifier_residual=config.classifier_residual,
        emotion_bias=config.emotion_bias,
        private_output=config.private_output,
        wide=config.wide,
        **(wide_init or {}),
    )
    if not 0.0 <= config.ema_momentum < 1.0:
        raise ValueError(f"ema_momentum must be in [0, 1), got {config.ema_momentum!r}")
    ema = {"use_ema": True, "ema_momentum": config.ema_momentum} if config.ema_momentum > 0 else {}
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, **ema),
        latent_optimizer=keras.optimizers.Adam(config.latent_learning_rate),
        metrics=[
            lem_metrics.MicroF1(),
            lem_metrics.MacroF1(),
            lem_metrics.JaccardAccuracy(),
            lem_metrics.MacroPRAUC(),
        ],
    )
    return model


def embedding_matrix_for(config: TrainConfig, pipeline, log=print):
    """The initial token embedding from ``config.embeddings``, else vectors pre-trained on
    ``config.embeddings_corpus`` (None when neither is set: random initialisation)."""
    if not config.embeddings and not config.embeddings_corpus:
        return None
    from lem_keras.data.embeddings import build_embedding_matrix

    if not config.embeddings:
        log(f"word vectors: {config.embeddings_method} ({config.embedding_dim}-d) on {config.embeddings_corpus}"
            " (pre-trained once, cached)")
    source = word_vectors_path(config)
    vectors = _word_vectors(source)
    matrix, coverage = build_embedding_matrix(pipeline.token_vocabulary, vectors, seed=config.seed)
    if matrix.shape[1] != config.embedding_dim:
        log(f"embedding_dim set to {matrix.shape[1]} to match {source}")
        config.embedding_dim = int(matrix.shape[1])
    log(f"word vectors {source}: coverage {coverage:.1%} of the token vocabulary")
    return matrix


def predict_scores(model, pipeline, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Per-emotion probabilities (N, K) for raw texts."""
    if len(texts) == 0:
        return np.zeros((0, model.num_emotions), dtype="float32")
    features = pipeline.transform(list(texts))
    return np.asarray(model.predict(features, batch_size=batch_size, verbose=0))


def schedule_callbacks(config: TrainConfig, pretrain_epochs: int | None = None) -> list:
    """The paper's schedule for ``config``: ``[AlternatingSchedule, PhaseAwareEarlyStopping]``,
    preceded by ``SwapEMAWeights`` when ``config.ema_momentum`` is set and followed by
    ``PhaseAwareReduceLROnPlateau`` (on ``config.lr_plateau_monitor``) when
    ``config.lr_plateau_factor`` is.

    ``SwapEMAWeights(swap_on_epoch=True)`` comes first, so the dev evaluation, the early
    stopping's best weights and everything saved after an epoch see the averaged weights;
    ``fit`` ends by restoring the best (averaged) weights.
    """
    import keras

    from lem_keras.callbacks import AlternatingSchedule, PhaseAwareEarlyStopping, PhaseAwareReduceLROnPlateau

    if not 0.0 <= config.lr_plateau_factor < 1.0:
        raise ValueError(f"lr_plateau_factor must be in [0, 1), got {config.lr_plateau_factor!r}")

    def mode(monitor: str) -> str:
        return "min" if "loss" in monitor else "max"

    swap = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema_momentum > 0 else []
    decay = (
        [PhaseAwareReduceLROnPlateau(monitor=config.lr_plateau_monitor, mode=mode(config.lr_plateau_monitor),
                                     factor=config.lr_plateau_factor,
                                     patience=config.lr_plateau_patience, min_lr=config.lr_plateau_min,
                                     verbose=1)]
        if config.lr_plateau_factor > 0
        else []
    )
    return [
        *swap,
        AlternatingSchedule(
            pretrain_epochs=config.pretrain_epochs if pretrain_epochs is None else pretrain_epochs,
            latent_epochs=config.latent_epochs,
            plateau_patience=config.plateau_patience,
            kl_anneal_epochs=config.kl_anneal_epochs,
        ),
        PhaseAwareEarlyStopping(
            monitor=config.monitor,
            mode=mode(config.monitor),
            patience=config.early_stopping_patience,
            restore_best_weights=True,
        ),
        *decay,
    ]


def train(
    config: TrainConfig,
    train_data,
    dev_data,
    out_dir: str | Path | None = None,
    verbose: int | str = "auto",
    extra_callbacks: list | None = None,
    log=print,
    strategy=None,
) -> TrainResult:
    """Train LEM with the paper's schedule, select on dev, calibrate thresholds on dev.

    With ``out_dir`` the run is resumable (``keras.callbacks.BackupAndRestore`` in
    ``out_dir/backup``), logs to TensorBoard in ``out_dir/logs`` and ends by writing the
    artefacts listed in this module's docstring. With ``strategy`` (a ``tf.distribute``
    strategy) the model is built in its scope and ``fit`` distributes the batches.
    """
    import keras

    from lem_keras.data.featurizer import make_tf_dataset
    from lem_keras.metrics import calibrate_thresholds, multilabel_report

    if list(train_data.emotion_names) != list(dev_data.emotion_names):
        raise ValueError(
            f"train and dev emotions differ: {train_data.emotion_names} vs {dev_data.emotion_names}"
        )
    start = time.perf_counter()
    _seed_everything(config.seed)
    pipeline = fit_pipeline(config, train_data)
    log(
        f"text pipeline: {len(pipeline.token_vocabulary)} tokens, "
        f"{len(pipeline.ebow_vocabulary)} eBoW words, max_length {pipeline.max_length}"
    )
    matrix = embedding_matrix_for(config, pipeline, log=log)
    wide_init = fit_wide(pipeline, train_data.texts, train_data.labels, config.wide_c) if config.wide else None
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build_model(config, pipeline, list(train_data.emotion_names), matrix, train_data.labels,
                            wide_init=wide_init)

    train_ds = make_tf_dataset(
        pipeline, train_data.texts, train_data.labels, batch_size=config.batch_size, shuffle=True, seed=config.seed
    )
    dev_ds = make_tf_dataset(pipeline, dev_data.texts, dev_data.labels, batch_size=256)

    callbacks = schedule_callbacks(config)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        # double_checkpoint: a run killed while writing the backup resumes from the one before.
        callbacks.append(keras.callbacks.BackupAndRestore(str(out / "backup"), double_checkpoint=True))
        callbacks.append(keras.callbacks.TensorBoard(str(out / "logs")))
    callbacks.extend(extra_callbacks or [])

    history = model.fit(
        train_ds, validation_data=dev_ds, epochs=config.epochs, callbacks=callbacks, verbose=verbose
    )
    dev_scores = predict_scores(model, pipeline, dev_data.texts)
    thresholds = calibrate_thresholds(dev_data.labels, dev_scores)
    model.set_thresholds(thresholds)
    dev_metrics = multilabel_report(dev_data.labels, dev_scores, thresholds)
    seconds = time.perf_counter() - start
    stopper = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    best_epoch = getattr(stopper, "best_epoch", None)
    result = TrainResult(
        model=model,
        pipeline=pipeline,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        dev_metrics=dev_metrics,
        thresholds=np.asarray(thresholds),
        seconds=seconds,
        best_epoch=best_epoch,
    )
    if out_dir is not None:
        save_artifacts(out_dir, result, config)
    return result


def save_artifacts(out_dir: str | Path, result: TrainResult, config: TrainConfig) -> None:
    """Write model, pipeline, config and dev metrics into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result.model.save(out / "model.keras")
    result.pipeline.save(out)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    metrics = dict(result.dev_metrics)
    metrics["thresholds"] = [float(t) for t in result.thresholds]
    metrics["train_seconds"] = round(result.seconds, 1)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def load_artifacts(model_dir: str | Path):
    """``(model, pipeline)`` from a directory written by :func:`train`."""
    import keras

    from lem_keras.data.featurizer import TextPipeline

    directory = Path(model_dir)
    model_path = directory / "model.keras"
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no trained model here (train one with `lem-keras train --out DIR`)")
    import lem_keras.metrics  # registers the compiled metrics before loading
    import lem_keras.model  # noqa: F401  (registers the custom layers before loading)

    model = keras.saving.load_model(model_path, safe_mode=True)
    pipeline = TextPipeline.load(directory)
    return model, pipeline


def mirrored_strategy(cpu_devices: int = 2):
    """A ``tf.distribute.MirroredStrategy`` over the local GPUs, or over CPU replicas.

    Without GPUs the CPU is split into ``cpu_devices`` logical devices, which must happen
    before TensorFlow first touches the device (so call this early in the process).
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    cpu = tf.config.list_physical_devices("CPU")[0]
    # Configure before asking for logical devices: listing them initialises the runtime,
    # after which the CPU can no longer be split.
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)]
        )
    except RuntimeError as error:
        if len(tf.config.list_logical_devices("CPU")) < cpu_devices:
            raise RuntimeError(
                "MirroredStrategy on CPU needs the CPU split into logical devices before "
                "TensorFlow initialises; call mirrored_strategy() first thing"
            ) from error
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:cpu_devices]
    return tf.distribute.MirroredStrategy(devices=devices)
