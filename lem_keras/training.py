"""The training recipe: text pipeline → LEM → paper's schedule → dev thresholds → artefacts.

One place for what the CLI, the benchmarks, the tuner and the notebooks all do, so that a
model trained by any of them is the same model. Its seams:

* :func:`load_splits` finds and reads the train and dev files of a dataset;
* :func:`prepare` fits the text pipeline, builds the initial embedding matrix and the
  ``tf.data`` datasets (the configuration's ``embedding_dim`` follows the vectors);
* :func:`build_model` and :func:`schedule_callbacks` give the compiled model and the
  paper's schedule for a configuration;
* :func:`finalize` calibrates the thresholds on dev and scores dev;
* :func:`train` is the four in a row, plus the artefacts below.

The layout of a model directory:

    DIR/model.keras      the LatentEmotionMemory (thresholds included), `.keras` format
    DIR/pipeline.json    the fitted text pipeline (vocabularies, language, lengths)
    DIR/config.json      the TrainConfig that produced it
    DIR/metrics.json     dev metrics at the calibrated thresholds
    DIR/decision.json    every decision rule's thresholds on dev (lem_keras.decision) and the
                         default rule, whose thresholds the model itself holds
    DIR/logs/            TensorBoard logs
    DIR/backup/          BackupAndRestore state while training runs (removed at the end)

A seed ensemble (``config.ensemble`` = N > 1) writes the same files, ``model.keras`` being a
:class:`~lem_keras.ensemble.LatentEmotionEnsemble` (thresholds tuned on its own dev
probabilities), and keeps each member as a model directory of its own:

    DIR/members/<k>/     member k (seed ``seed + k - 1``), k = 1..N, laid out as above
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# The configuration lives in lem_keras.config; these names stay importable from here.
from lem_keras.config import (  # noqa: F401
    CONFIG_NAMES,
    TrainConfig,
    monitor_mode,
    named_config,
    resolve_data_paths,
)
from lem_keras.decision import DEFAULT_RULE


@dataclasses.dataclass
class Splits:
    """The train and dev datasets of one corpus, and the format they were read as."""

    train: Any
    dev: Any
    format: str


def load_splits(
    data: str | Path | Sequence[str | Path], format: str | None = None, **table_options
) -> Splits:
    """Find and read the train and dev files of a dataset.

    Args:
        data: a directory holding the train and dev files (found by name), or the two
            files ``(train, dev)``.
        format: ``semeval``, ``ren-cecps``, ``csv``, ``tsv``, ``jsonl``; None or ``auto``:
            from the file extension, then the header.
        **table_options: column options of ``readers.read_table`` (csv/tsv/jsonl).

    The dev file is read with the training file's emotions, in their order (a labels
    column names only the emotions it holds). Train and dev emotions that still differ
    raise ``ValueError`` naming both files.
    """
    from lem_keras.data.readers import detect_format, find_split_files, load_dataset

    paths = [data] if isinstance(data, (str, Path)) else list(data)
    if len(paths) == 1:
        train_path, dev_path = find_split_files(paths[0], format)
    elif len(paths) == 2:
        train_path, dev_path = (Path(p) for p in paths)
    else:
        raise ValueError(
            f"give a directory holding train and dev files, or two files TRAIN DEV; got {len(paths)}"
        )
    fmt = format if format not in (None, "auto") else detect_format(train_path)
    train = load_dataset(train_path, fmt, **table_options)
    dev = load_dataset(dev_path, fmt, **table_options, emotion_names=list(train.emotion_names))
    if list(train.emotion_names) != list(dev.emotion_names):
        raise ValueError(
            f"{dev_path}: emotions {list(dev.emotion_names)} differ from those of {train_path}: "
            f"{list(train.emotion_names)}"
        )
    return Splits(train, dev, fmt)


def _seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


@functools.lru_cache(maxsize=1)
def _word_vectors(path: str):
    # The pipeline (vocabulary_from_vectors) and the embedding matrix read the same file:
    # load it once per process.
    from lem_keras.data.embeddings import load_word_vectors

    return load_word_vectors(path)


def pretrained_dim(config: TrainConfig) -> int:
    """The width of the vectors pre-trained on ``embeddings_corpus``: ``embedding_dim``, less
    GloVe's 50 columns when ``concat_glove`` appends them (``embedding_dim`` is the model's
    token width, so a saved ``config.json`` trains the same vectors again)."""
    from lem_keras.data.embeddings import GLOVE_DIM

    return config.embedding_dim - (GLOVE_DIM if config.concat_glove else 0)


def word_vectors_path(config: TrainConfig) -> str | None:
    """The word-vector file of ``config``: ``embeddings``, else the vectors pre-trained
    (once, cached) on ``embeddings_corpus`` (:func:`pretrained_dim` wide); None for random
    initialisation."""
    if config.embeddings:
        return config.embeddings
    if not config.embeddings_corpus:
        return None
    from lem_keras.data.embeddings import cached_word2vec

    return str(cached_word2vec(config.embeddings_corpus, pretrained_dim(config), language=config.language,
                               segmentation=config.segmentation, method=config.embeddings_method))


def fit_pipeline(config: TrainConfig, train):
    """Fit the text pipeline (token and eBoW vocabularies) on the training split."""
    from lem_keras.data.ebow import load_class_lexicon, load_stopwords
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
        emotion_names=list(train.emotion_names),
        ebow_ngrams=config.ebow_ngrams,
        class_lexicon=load_class_lexicon(config.lexicon_classes) if config.lexicon_classes else None,
    )
    return pipeline


#: Weight of the class-lexicon features in the wide path, on top of their idf (a linear
#: probe on Ren-CECps dev, README "Results": 1, 2, 3, 5 tried; 3 best on miF1 and Jaccard).
LEXICON_WEIGHT = 3.0


def fit_wide(pipeline, texts, labels, c: float) -> dict:
    """The wide path's initial values: one logistic regression per emotion (liblinear,
    inverse regularisation ``c``) on the training texts' binary TF-IDF eBoW features, and
    the class-lexicon features when the pipeline has a lexicon (``log1p`` counts, weighted
    by their idf times :data:`LEXICON_WEIGHT`): the features the model computes
    (:func:`lem_keras.model.wide_features`).

    Returns:
        ``{"wide_scale", "wide_kernel", "wide_bias", "wide_l2"}`` for the model, where
        ``wide_l2 = 1 / (2 c N K)`` is the regression's penalty on eq. 17's mean loss.
    """
    from keras import ops

    from lem_keras.data.ebow import ebow_idf
    from lem_keras.model import wide_features

    if c <= 0:
        raise ValueError(f"wide_c must be > 0, got {c!r}")
    scale = np.asarray(pipeline.ebow_idf, dtype="float32")
    if scale.shape != (len(pipeline.ebow_vocabulary),):
        raise ValueError("the pipeline has no eBoW idf (fit it again with this version)")
    features = pipeline.transform(list(texts))
    lexicon = features.get("lexicon")
    if lexicon is not None:
        # The classes' idf from their presence in the training texts, as the eBoW terms'.
        names = list(pipeline.lexicon)
        present = [[names[c] for c in np.flatnonzero(row)] for row in lexicon > 0]
        idf = np.asarray(ebow_idf(present, names), dtype="float32")
        scale = np.concatenate([scale, LEXICON_WEIGHT * idf])
    x = ops.convert_to_numpy(wide_features(features["ebow"], scale, lexicon))
    n, k = np.shape(labels)
    kernel, bias = _logistic_regressions(x, labels, c)
    return {"wide_scale": scale, "wide_kernel": kernel, "wide_bias": bias, "wide_l2": 1.0 / (2 * c * n * k)}


def _logistic_regressions(x, labels, c: float, solver: str = "liblinear",
                          max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per label column (scikit-learn's ``solver`` and ``max_iter``,
    inverse regularisation ``c``) on the features ``x`` (dense or scipy sparse, (N, F)): ``(kernel
    (F, K), bias (K,))``; a column with one class gets a zero kernel and the logit of its rate
    (clipped to 1e-3)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels)
    kernel = np.zeros((x.shape[1], y.shape[1]), dtype="float32")
    bias = np.zeros(y.shape[1], dtype="float32")
    for j in range(y.shape[1]):
        column = y[:, j]
        if column.min() == column.max():
            rate = float(np.clip(column.mean(), 1e-3, 1 - 1e-3))
            bias[j] = np.log(rate / (1 - rate))
            continue
        regression = LogisticRegression(C=c, solver=solver, max_iter=max_iter).fit(x, column)
        kernel[:, j] = regression.coef_[0]
        bias[j] = regression.intercept_[0]
    return kernel, bias


#: Inverse regularisation of the TF-IDF member's logistic regressions (the TF-IDF + LR
#: baseline's, ``lem_keras.baselines.TfidfLogisticRegression``).
TFIDF_C = 4.0


def fit_tfidf_member(pipeline, texts, labels, c: float = TFIDF_C):
    """The TF-IDF member of a blended ensemble: fits the pipeline's TF-IDF vocabulary on
    the training ``texts`` (``TextPipeline.fit_tfidf``, so the featurizer gives the member's
    inputs from then on) and one logistic regression per emotion on their TF-IDF features,
    returned as a :class:`~lem_keras.layers.SparseLinear` holding them."""
    from scipy import sparse

    from lem_keras.layers import SparseLinear

    pipeline.fit_tfidf(texts)
    features = pipeline.transform(list(texts))
    ids, values = features["tfidf_ids"], features["tfidf_values"]
    size = pipeline.featurizer.tfidf_size
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    x = sparse.csr_matrix((values.ravel(), (rows, ids.ravel())), shape=(len(ids), size))
    kernel, bias = _logistic_regressions(x, labels, c)
    layer = SparseLinear(size, kernel.shape[1], name="tfidf")
    layer.build(None)
    layer.set_weights([kernel, bias])
    return layer


#: Inverse regularisation of the sentence-embedding member's logistic regressions (chosen
#: with its blend weight on SemEval's held-out folds: README "Session 12 experiments").
SENTENCE_C = 4.0


def sentence_embeddings(encoder, pipeline, texts, batch_size: int = 256) -> np.ndarray:
    """``encoder.embed`` of ``texts`` (N, hidden), read through ``pipeline``'s ``wordpiece_ids``."""
    import tensorflow as tf

    embed = tf.function(encoder.embed)
    ids = pipeline.transform(list(texts))["wordpiece_ids"]
    parts = [np.asarray(embed(tf.constant(ids[i : i + batch_size]))) for i in range(0, len(ids), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, encoder.hidden_size), "float32")


def minilm_encoder(num_emotions: int):
    """A :class:`~lem_keras.layers.SentenceEncoder` set to all-MiniLM-L6-v2's weights, its head
    still zero; a pipeline reads its input once given the model's WordPiece vocabulary
    (``pipeline.set_wordpiece(load_minilm()[0])``)."""
    from lem_keras.data.minilm import load_minilm
    from lem_keras.layers import SentenceEncoder

    vocabulary, weights, bert = load_minilm()
    encoder = SentenceEncoder(
        num_emotions, vocab_size=bert["vocab_size"], hidden_size=bert["hidden_size"],
        num_layers=bert["num_hidden_layers"], num_heads=bert["num_attention_heads"],
        intermediate_size=bert["intermediate_size"], max_positions=bert["max_position_embeddings"],
        pad_id=vocabulary.index("[PAD]"), name="sentence")
    encoder.set_bert_weights(weights)
    return encoder


def fit_sentence_member(pipeline, texts, labels, c: float = SENTENCE_C):
    """The sentence-embedding member of a blended ensemble: gives ``pipeline`` the WordPiece
    vocabulary of all-MiniLM-L6-v2 (``TextPipeline.set_wordpiece``: the featurizer gives
    ``wordpiece_ids`` from then on), then :func:`minilm_encoder` with one logistic regression
    per emotion (lbfgs, inverse regularisation ``c``) fitted on the training texts'
    embeddings as its head."""
    from lem_keras.data.minilm import load_minilm

    labels = np.asarray(labels)
    pipeline.set_wordpiece(load_minilm()[0])
    encoder = minilm_encoder(labels.shape[1])
    x = sentence_embeddings(encoder, pipeline, texts)
    encoder.set_head(*_logistic_regressions(x, labels, c, solver="lbfgs", max_iter=2000))
    return encoder


def embedding_matrix_for(config: TrainConfig, pipeline, log=print):
    """The initial token embedding from ``config.embeddings``, else from vectors
    pre-trained on ``config.embeddings_corpus``, with the GloVe 6B vectors appended when
    ``config.concat_glove`` (or GloVe alone); None when none is set (random
    initialisation). Its width may differ from ``config.embedding_dim``: :func:`prepare`
    makes the configuration follow it."""
    from lem_keras.data.embeddings import append_glove, build_embedding_matrix

    matrix = None
    if config.embeddings or config.embeddings_corpus:
        if not config.embeddings:
            log(f"word vectors: {config.embeddings_method} ({pretrained_dim(config)}-d) on "
                f"{config.embeddings_corpus} (pre-trained once, cached)")
        source = word_vectors_path(config)
        vectors = _word_vectors(source)
        matrix, coverage = build_embedding_matrix(pipeline.token_vocabulary, vectors, seed=config.seed)
        log(f"word vectors {source}: coverage {coverage:.1%} of the token vocabulary")
    if config.concat_glove:
        matrix, coverage = append_glove(matrix, pipeline.token_vocabulary, seed=config.seed)
        log(f"GloVe 6B 50-d vectors appended: coverage {coverage:.1%} of the token vocabulary")
    return matrix


@dataclasses.dataclass
class Prepared:
    """What a model is trained from: see :func:`prepare`."""

    config: TrainConfig
    pipeline: Any
    embedding_matrix: np.ndarray | None
    train_ds: Any
    dev_ds: Any
    emotion_names: list[str]
    # The epoch that train_ds's shuffle order derives from: give it to schedule_callbacks.
    shuffle_epoch: Any = None
    # The wide path's initial values (config.wide): give them to build_model.
    wide_init: dict | None = None


def prepare(config: TrainConfig, train, dev, log=print, pipeline=None) -> Prepared:
    """Seed, fit the text pipeline on ``train`` (unless ``pipeline`` is given), build the
    initial embedding matrix and the train (shuffled) and dev datasets. An epoch's shuffle
    order is a function of ``(config.seed, epoch)``: the epoch is set by the
    ``ShuffleEpoch`` callback that ``schedule_callbacks(..., shuffle_epoch=...)`` adds.

    The returned ``config`` is ``config`` with ``embedding_dim`` set to the width of the
    given vectors, when they differ (logged); ``config`` itself is not changed.
    """
    import tensorflow as tf

    from lem_keras.data.featurizer import make_tf_dataset

    if list(train.emotion_names) != list(dev.emotion_names):
        raise ValueError(f"train and dev emotions differ: {train.emotion_names} vs {dev.emotion_names}")
    _seed_everything(config.seed)
    if pipeline is None:
        pipeline = fit_pipeline(config, train)
    log(
        f"text pipeline: {len(pipeline.token_vocabulary)} tokens, "
        f"{len(pipeline.ebow_vocabulary)} eBoW words, max_length {pipeline.max_length}"
    )
    matrix = embedding_matrix_for(config, pipeline, log=log)
    if matrix is not None and matrix.shape[1] != config.embedding_dim:
        log(f"embedding_dim set to {matrix.shape[1]} to match the word vectors")
        config = config.replace(embedding_dim=int(matrix.shape[1]))
    wide_init = None
    if config.wide:
        wide_init = fit_wide(pipeline, train.texts, train.labels, config.wide_c)
        # The logistic regression's own penalty, carried on as the model's (a ModelConfig field).
        config = config.replace(wide_l2=float(wide_init.pop("wide_l2")))
    shuffle_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="shuffle_epoch")
    train_ds = make_tf_dataset(pipeline, train.texts, train.labels, batch_size=config.batch_size,
                               shuffle=True, seed=config.seed, shuffle_epoch=shuffle_epoch)
    dev_ds = make_tf_dataset(pipeline, dev.texts, dev.labels, batch_size=256)
    return Prepared(config, pipeline, matrix, train_ds, dev_ds, list(train.emotion_names), shuffle_epoch,
                    wide_init)


def build_model(config: TrainConfig, pipeline, emotion_names: Sequence[str], embedding_matrix=None,
                wide_init: dict | None = None):
    """A compiled LatentEmotionMemory with ``config``'s model options, sized for ``pipeline``;
    ``wide_init`` (``Prepared.wide_init``, from :func:`fit_wide`) starts the wide path."""
    import keras

    from lem_keras import metrics as lem_metrics
    from lem_keras.model import LatentEmotionMemory

    model = LatentEmotionMemory(
        num_emotions=len(emotion_names),
        ebow_size=len(pipeline.ebow_vocabulary),
        vocab_size=len(pipeline.token_vocabulary),
        lexicon_size=len(pipeline.lexicon or ()),
        emotion_names=list(emotion_names),
        embedding_matrix=embedding_matrix,
        **config.model_options(),
        **(wide_init or {}),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        latent_optimizer=keras.optimizers.Adam(config.latent_learning_rate),
        metrics=[
            lem_metrics.MicroF1(),
            lem_metrics.MacroF1(),
            lem_metrics.JaccardAccuracy(),
            lem_metrics.MacroPRAUC(),
        ],
    )
    return model


@dataclasses.dataclass
class Finalized:
    """Dev thresholds, dev metrics at them, and the dev scores: see :func:`finalize`."""

    thresholds: np.ndarray
    dev_metrics: dict[str, float]
    dev_scores: np.ndarray
    # Every decision rule's thresholds on dev, {rule: (K,)}; ``thresholds`` is the default's.
    rules: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def finalize(model, pipeline, dev) -> Finalized:
    """Fit the per-emotion temperature (a model with a ``temperature``) on ``dev``, then
    every decision rule (:mod:`lem_keras.decision`) on the calibrated dev probabilities;
    store the temperature and the default rule's thresholds in ``model`` and score dev."""
    from lem_keras.calibration import fit_temperature
    from lem_keras.decision import DEFAULT_RULE, fit_rules
    from lem_keras.metrics import multilabel_report

    if getattr(model, "temperature", None) is not None:
        # Per-emotion temperature scaling, cross-validated on SemEval dev (README "Decision
        # rules"): lower calibration error and ranking loss, the same per-emotion AP.
        model.set_temperature(1.0)
        raw = predict_scores(model, pipeline, dev.texts)
        model.set_temperature(fit_temperature(dev.labels, raw, per_emotion=True))
    scores = predict_scores(model, pipeline, dev.texts)
    rules = fit_rules(dev.labels, scores)
    thresholds = np.asarray(rules[DEFAULT_RULE])
    model.set_thresholds(thresholds)
    model.decision_rule = DEFAULT_RULE
    report = multilabel_report(dev.labels, scores, thresholds, DEFAULT_RULE)
    return Finalized(thresholds, report, scores, rules)


def predict_scores(model, pipeline, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Per-emotion probabilities (N, K) for raw texts (a list of strings; TypeError otherwise)."""
    from lem_keras.data.featurizer import check_texts

    texts = check_texts(texts)
    if len(texts) == 0:
        return np.zeros((0, model.num_emotions), dtype="float32")
    features = pipeline.transform(list(texts))
    return np.asarray(model.predict(features, batch_size=batch_size, verbose=0))


def schedule_callbacks(config: TrainConfig, pretrain_epochs: int | None = None, shuffle_epoch=None,
                       best_weights_path: str | None = None) -> list:
    """The paper's schedule for ``config``: ``[AlternatingSchedule, PhaseAwareEarlyStopping]``,
    followed by ``PhaseAwareReduceLROnPlateau`` (on ``config.lr_plateau_monitor``) when
    ``config.lr_plateau_factor`` is set; preceded by ``ShuffleEpoch`` with ``shuffle_epoch``
    (``Prepared.shuffle_epoch``). ``best_weights_path`` keeps early stopping's best weights
    on disk, for an exact resume."""
    from lem_keras.callbacks import (
        AlternatingSchedule,
        PhaseAwareEarlyStopping,
        PhaseAwareReduceLROnPlateau,
        ShuffleEpoch,
    )

    callbacks = [ShuffleEpoch(shuffle_epoch)] if shuffle_epoch is not None else []
    callbacks += [
        AlternatingSchedule(
            pretrain_epochs=config.pretrain_epochs if pretrain_epochs is None else pretrain_epochs,
            latent_epochs=config.latent_epochs,
            plateau_patience=config.plateau_patience,
            kl_anneal_epochs=config.kl_anneal_epochs,
        ),
        PhaseAwareEarlyStopping(
            monitor=config.monitor,
            mode=monitor_mode(config.monitor),
            patience=config.early_stopping_patience,
            restore_best_weights=True,
            best_weights_path=best_weights_path,
        ),
    ]
    if config.lr_plateau_factor > 0:
        callbacks.append(PhaseAwareReduceLROnPlateau(
            monitor=config.lr_plateau_monitor, mode=monitor_mode(config.lr_plateau_monitor),
            factor=config.lr_plateau_factor, patience=config.lr_plateau_patience, verbose=1,
        ))
    return callbacks


@dataclasses.dataclass
class TrainResult:
    model: Any
    pipeline: Any
    history: dict[str, list[float]]
    dev_metrics: dict[str, float]
    thresholds: np.ndarray
    seconds: float
    best_epoch: int | None = None
    config: TrainConfig | None = None
    # {rule: thresholds} from finalize (Finalized.rules); None: only ``thresholds``, which
    # finalize set to the default rule's.
    rules: dict[str, np.ndarray] | None = None


def train(
    config: TrainConfig,
    train_data,
    dev_data,
    out_dir: str | Path | None = None,
    verbose: int | str = "auto",
    extra_callbacks: list | None = None,
    log=print,
    strategy=None,
    overwrite: bool = False,
) -> TrainResult:
    """Train LEM with the paper's schedule, select on dev, calibrate thresholds on dev.

    With ``out_dir`` the run is resumable (``keras.callbacks.BackupAndRestore`` in
    ``out_dir/backup``), logs to TensorBoard in ``out_dir/logs`` and ends by writing the
    artefacts listed in this module's docstring. ``out_dir`` is locked while the run uses
    it (a second run into it is refused), and a finished model there is only replaced
    with ``overwrite=True``. With ``strategy`` (a ``tf.distribute`` strategy) the model is
    built in its scope and ``fit`` distributes the batches.

    With ``config.ensemble`` = N > 1: a seed ensemble, N members (seeds ``seed`` ..
    ``seed + N - 1``) on one text pipeline, each resumable in ``out_dir/members/<k>/``,
    served as one :class:`~lem_keras.ensemble.LatentEmotionEnsemble` (the mean of their
    probabilities) whose thresholds are tuned on its own dev probabilities; the result's
    ``history`` is then empty (each member's is in its TensorBoard logs). With
    ``config.tfidf_blend`` = w > 0 (even with one member) the ensemble also holds a TF-IDF
    member (:func:`fit_tfidf_member`, fitted on ``train_data``) blended in with weight w, and
    with ``config.sentence_blend`` = s > 0 a sentence-embedding member
    (:func:`fit_sentence_member`) with weight s.
    """
    as_ensemble = config.ensemble > 1 or config.tfidf_blend > 0 or config.sentence_blend > 0
    if config.sentence_blend > 0:
        from lem_keras.data.minilm import minilm_directory

        minilm_directory()  # a missing wheel stops the run now, not after the members' training
    if out_dir is None:
        run = _train_ensemble if as_ensemble else _train
        return run(config, train_data, dev_data, None, verbose, extra_callbacks, log, strategy)
    with output_directory(out_dir, overwrite=overwrite):
        if as_ensemble:
            return _train_ensemble(config, train_data, dev_data, out_dir, verbose, extra_callbacks, log,
                                   strategy, overwrite=overwrite)
        return _train(config, train_data, dev_data, out_dir, verbose, extra_callbacks, log, strategy)


@contextlib.contextmanager
def output_directory(out_dir: str | Path, overwrite: bool = False):
    """Hold ``out_dir`` for one training run.

    Refuses a directory that holds a finished model (``model.keras``) unless ``overwrite``,
    and one that another process is training into (an exclusive ``flock`` on
    ``out_dir/.lock``, released when the run ends or its process dies, so a killed run
    can be resumed at once). An unfinished run (a ``backup/`` without a model) is resumed.
    """
    import fcntl

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: not a directory (--out takes a directory)")
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "a+")  # noqa: SIM115 (held for the whole run)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise FileExistsError(
                f"{out}: another training run (pid {owner}) is using this directory"
            ) from None
        if (out / "model.keras").exists() and not overwrite:
            raise FileExistsError(
                f"{out}: holds a finished model (model.keras); pass --overwrite to replace it, "
                "or choose another --out"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield out
    finally:
        handle.close()


def _train(config, train_data, dev_data, out_dir, verbose, extra_callbacks, log, strategy,
           pipeline=None) -> TrainResult:
    import keras

    from lem_keras.callbacks import PhaseAwareTensorBoard

    start = time.perf_counter()
    prepared = prepare(config, train_data, dev_data, log=log, pipeline=pipeline)
    config = prepared.config
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build_model(config, prepared.pipeline, prepared.emotion_names, prepared.embedding_matrix,
                            prepared.wide_init)

    backup = Path(out_dir) / "backup" if out_dir is not None else None
    if backup is not None:
        backup.mkdir(parents=True, exist_ok=True)
    callbacks = schedule_callbacks(
        config, shuffle_epoch=prepared.shuffle_epoch,
        best_weights_path=str(backup / "best.weights.h5") if backup is not None else None,
    )
    if out_dir is not None:
        out = Path(out_dir)
        # After the schedule's callbacks, which write their state into the model first.
        # double_checkpoint: a run killed while writing the backup resumes from the one before.
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True))
        callbacks.append(PhaseAwareTensorBoard(str(out / "logs")))
    callbacks.extend(extra_callbacks or [])

    history = model.fit(
        prepared.train_ds, validation_data=prepared.dev_ds, epochs=config.epochs, callbacks=callbacks,
        verbose=verbose, shuffle=False,  # the dataset shuffles itself, by (seed, epoch)
    )
    final = finalize(model, prepared.pipeline, dev_data)
    stopper = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    result = TrainResult(
        model=model,
        pipeline=prepared.pipeline,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        dev_metrics=final.dev_metrics,
        thresholds=final.thresholds,
        seconds=time.perf_counter() - start,
        best_epoch=getattr(stopper, "best_epoch", None),
        config=config,
        rules=final.rules,
    )
    if out_dir is not None:
        save_artifacts(out_dir, result, config)
    return result


#: Where a seed ensemble keeps its members: ``DIR/members/<k>/``, k = 1..N.
MEMBERS_DIR = "members"


def _train_ensemble(config, train_data, dev_data, out_dir, verbose, extra_callbacks, log, strategy,
                    overwrite: bool = False) -> TrainResult:
    """``config.ensemble`` members, seeds ``seed .. seed + N - 1``, each trained by :func:`_train`
    on the text pipeline fitted for the first, into ``out_dir/members/<k>/`` (its own backup:
    a killed run resumes at the member it was training; a member with a saved model is
    loaded, not retrained); then one :class:`~lem_keras.ensemble.LatentEmotionEnsemble`,
    finalized on dev (thresholds on the ensemble's probabilities) and saved in ``out_dir``."""
    import shutil

    from lem_keras.ensemble import LatentEmotionEnsemble

    start = time.perf_counter()
    size = config.ensemble
    members_dir = Path(out_dir) / MEMBERS_DIR if out_dir is not None else None
    if members_dir is not None and overwrite and (Path(out_dir) / "model.keras").exists():
        shutil.rmtree(members_dir, ignore_errors=True)  # a finished ensemble is replaced: every member anew
    pipeline, models = None, []
    for k in range(1, size + 1):
        member_config = config.replace(seed=config.seed + k - 1, ensemble=1, tfidf_blend=0.0,
                                       sentence_blend=0.0)
        member_dir = members_dir / str(k) if members_dir is not None else None
        if member_dir is not None and (member_dir / "model.keras").is_file():
            _check_member_config(member_dir, member_config)
            model, member_pipeline = load_artifacts(member_dir)
            pipeline = pipeline if pipeline is not None else member_pipeline
            log(f"ensemble member {k}/{size} (seed {member_config.seed}): finished, loaded from {member_dir}")
        else:
            log(f"ensemble member {k}/{size} (seed {member_config.seed})")
            result = _train(member_config, train_data, dev_data, member_dir, verbose, extra_callbacks, log,
                            strategy, pipeline=pipeline)
            model, pipeline = result.model, result.pipeline
            log(f"ensemble member {k}/{size}: dev " + ", ".join(
                f"{name} {value:.4f}" for name, value in result.dev_metrics.items()))
        config = config.replace(embedding_dim=int(model.embedding_dim))  # follows the vectors
        models.append(model)
    blend = {}
    if config.tfidf_blend > 0:
        log(f"TF-IDF member (weight {config.tfidf_blend:g})")
        blend = {"tfidf": fit_tfidf_member(pipeline, train_data.texts, train_data.labels),
                 "tfidf_weight": config.tfidf_blend}
    if config.sentence_blend > 0:
        log(f"sentence-embedding member, all-MiniLM-L6-v2 (weight {config.sentence_blend:g})")
        blend.update(sentence=fit_sentence_member(pipeline, train_data.texts, train_data.labels),
                     sentence_weight=config.sentence_blend)
    ensemble = LatentEmotionEnsemble.from_members(models, **blend)
    del models
    final = finalize(ensemble, pipeline, dev_data)
    result = TrainResult(
        model=ensemble,
        pipeline=pipeline,
        history={},
        dev_metrics=final.dev_metrics,
        thresholds=final.thresholds,
        seconds=time.perf_counter() - start,
        config=config,
        rules=final.rules,
    )
    if out_dir is not None:
        save_artifacts(out_dir, result, config)
    return result


def _check_member_config(member_dir: Path, expected: TrainConfig) -> None:
    """Refuse to reuse a finished member trained with another configuration (a rerun with
    other options into the same ``--out``); ``embedding_dim`` follows the vectors."""
    path = member_dir / "config.json"
    try:
        # Fields added since the member was saved take their defaults.
        saved = TrainConfig.from_dict(json.loads(path.read_text("utf-8"))).to_dict()
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the member's configuration: {error}") from None
    for name, value in expected.to_dict().items():
        if name != "embedding_dim" and saved.get(name) != value:
            raise ValueError(
                f"{path}: this finished ensemble member was trained with {name}={saved.get(name)!r}, "
                f"this run asks for {value!r}; train into another --out, or remove {member_dir.parent}"
            )


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
    save_decision(out, result.rules if result.rules is not None else {DEFAULT_RULE: result.thresholds})


#: The decision rules of a model directory: ``{"default": RULE, "rules": {RULE: [K floats]}}``.
DECISION_FILE = "decision.json"


def save_decision(model_dir: str | Path, rules: dict, default: str | None = None) -> None:
    """Write ``model_dir/decision.json``: every rule's thresholds and the default rule
    (``lem_keras.decision.DEFAULT_RULE`` unless given), the one the model's thresholds hold."""
    default = default or DEFAULT_RULE
    if default not in rules:
        raise ValueError(f"the default decision rule {default!r} is not among the rules: {sorted(rules)}")
    record = {"default": default,
              "rules": {name: [float(t) for t in values] for name, values in rules.items()}}
    (Path(model_dir) / DECISION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def load_decision(model_dir: str | Path) -> dict:
    """``{"default": RULE, "rules": {RULE: float32 array (K,)}}`` of a model directory.

    A directory saved before decision rules existed (no ``decision.json``) has one rule,
    ``per_emotion_f1``, the thresholds in its ``metrics.json``.
    """
    directory = Path(model_dir)
    path = directory / DECISION_FILE
    try:
        if path.is_file():
            record = json.loads(path.read_text("utf-8"))
            default, rules = record["default"], record["rules"]
        else:
            legacy = json.loads((directory / "metrics.json").read_text("utf-8"))
            default, rules = "per_emotion_f1", {"per_emotion_f1": legacy["thresholds"]}
        rules = {str(name): np.asarray(values, dtype="float32") for name, values in rules.items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        source = path if path.is_file() else directory / "metrics.json"
        raise ValueError(f"{source}: cannot read the decision rules: {_load_problem(None, error)}") from None
    if default not in rules:
        raise ValueError(f"{path}: default rule {default!r} has no thresholds")
    return {"default": default, "rules": rules}


def thresholds_for(model_dir: str | Path, rule: str | None = None) -> tuple[str, np.ndarray]:
    """``(rule, thresholds (K,))``: those of ``rule`` in ``model_dir`` (None: its default);
    ValueError naming the rules the directory holds when it has none for ``rule``."""
    decision = load_decision(model_dir)
    name = rule or decision["default"]
    if name not in decision["rules"]:
        raise ValueError(
            f"{Path(model_dir) / DECISION_FILE}: no thresholds for decision rule {name!r}; "
            f"this model has: {', '.join(decision['rules'])}"
        )
    return name, decision["rules"][name]


def predict_emotions(model, pipeline, texts: list[str], decision: str | None = None,
                     model_dir: str | Path | None = None, batch_size: int = 256):
    """``(probabilities (N, K), emotions)``: ``emotions[i]`` the names of the emotions text
    ``i`` is predicted to express, by rule ``decision`` of ``model_dir`` (None: the model's
    own thresholds and rule, its default: ``model.decision_rule``, set by :func:`finalize`
    and :func:`load_artifacts`). The rule changes the emotions, never the probabilities.

    Example::

        model, pipeline = load_artifacts("DIR")
        scores, emotions = predict_emotions(model, pipeline, ["so happy"], decision="global_jaccard",
                                            model_dir="DIR")
    """
    if decision is None:
        rule, thresholds = getattr(model, "decision_rule", None), model.get_thresholds()
    elif model_dir is None:
        raise ValueError("decision= needs model_dir= (the directory whose decision.json holds the rules)")
    else:
        rule, thresholds = thresholds_for(model_dir, decision)
    scores = predict_scores(model, pipeline, texts, batch_size=batch_size)
    return scores, emotions_at(scores, thresholds, model.emotion_names, rule)


def emotions_at(scores, thresholds, names, rule: str | None = None) -> list[list[str]]:
    """The names of the emotions each row of ``scores`` (N, K) predicts under decision rule
    ``rule`` (``lem_keras.decision.decide``; None: probability at or above the emotion's
    threshold), the most probable first (ties in column order).

    >>> emotions_at([[0.2, 0.9, 0.6]], [0.5, 0.5, 0.5], ["anger", "joy", "love"])
    [['joy', 'love']]
    """
    from lem_keras.decision import decide

    scores = np.asarray(scores, dtype="float64").reshape(-1, len(names))
    chosen = decide(scores, thresholds, rule)
    ranked = np.argsort(-scores, axis=1, kind="stable")
    return [[names[k] for k in order if row[k]] for row, order in zip(chosen, ranked)]


def load_artifacts(model_dir: str | Path):
    """``(model, pipeline)`` from a directory written by :func:`train`."""
    import keras

    from lem_keras.data.featurizer import PIPELINE_FILE, TextPipeline

    directory = Path(model_dir)
    model_path = directory / "model.keras"
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path}: no trained model here (train one with `lem-keras train --out DIR`)"
        )
    import lem_keras.ensemble  # registers the seed ensemble before loading
    import lem_keras.metrics  # registers the compiled metrics before loading
    import lem_keras.model  # noqa: F401  (registers the custom layers before loading)

    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:  # Keras reports a damaged archive as "File not found"
        problem = _load_problem(model_path, error)
        raise ValueError(f"{model_path}: cannot load the model: {problem}") from error
    try:
        pipeline = TextPipeline.load(directory)
    except (ValueError, KeyError, TypeError) as error:
        problem = _load_problem(None, error)
        raise ValueError(f"{directory / PIPELINE_FILE}: cannot load the text pipeline: {problem}") from error
    tfidf = getattr(model, "tfidf", None)
    if tfidf is not None and pipeline.featurizer.tfidf_size != tfidf.num_terms:
        raise ValueError(f"{directory / PIPELINE_FILE}: the model's TF-IDF member reads {tfidf.num_terms} "
                         f"term ids, this text pipeline gives {pipeline.featurizer.tfidf_size} (not the "
                         "pipeline it was trained with?)")
    sentence = getattr(model, "sentence", None)
    words = len(pipeline.wordpiece_vocabulary or [])
    if sentence is not None and words != sentence.vocab_size:
        raise ValueError(f"{directory / PIPELINE_FILE}: the model's sentence-embedding member reads "
                         f"{sentence.vocab_size} WordPiece ids, this text pipeline gives {words} (not the "
                         "pipeline it was trained with?)")
    try:
        model.decision_rule = load_decision(directory)["default"]
    except ValueError:  # no rules on record: the model's thresholds alone (commands that need
        model.decision_rule = None  # the rules read them again and say what is wrong)
    return model, pipeline


def _load_problem(path: Path | None, error: Exception) -> str:
    """The cause of a failed load, in one short line."""
    import zipfile

    if path is not None and not zipfile.is_zipfile(path):
        return "the file is damaged or not a .keras archive (not a zip file); train or copy it again"
    message = " ".join(str(error).split())
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{type(error).__name__}: {message}"


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
