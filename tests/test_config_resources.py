"""Configurations that name resources beside the data: `{data}/...` paths, word vectors
pre-trained from a corpus (once, cached), overrides and errors."""

import json
import shutil
from pathlib import Path

import pytest

from lem_keras.cli import main
from lem_keras.training import TrainConfig, named_config, resolve_data_paths

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = json.loads((FIXTURES / "cli" / "tiny.json").read_text("utf-8"))
SHARED_LEXICONS = (
    "NRC-Emotion-Lexicon-Wordlevel-v0.92.txt",
    "mpqa-subjclueslen1-HLTEMNLP05.tff",
    "opinion-lexicon-negative-words.txt",
    "opinion-lexicon-positive-words.txt",
)


def _layout(root: Path) -> Path:
    """A copy of the shared data layout (semeval2018-ec/, lexicons/, unlabeled/) from fixtures."""
    data = root / "semeval2018-ec"
    shutil.copytree(FIXTURES / "cli" / "semeval", data)
    lexicons = root / "lexicons"
    lexicons.mkdir()
    sources = ("nrc_sample.txt", "mpqa_sample.tff", "huliu_negative_sample.txt", "wordlist.txt")
    for name, source in zip(SHARED_LEXICONS, sources):
        shutil.copy(FIXTURES / source, lexicons / name)
    (root / "unlabeled").mkdir()
    shutil.copy(FIXTURES / "w2v_corpus.txt", root / "unlabeled" / "tweets-en.txt")
    return data


def _run(argv) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def test_shipped_semeval_config_resolves_against_the_shared_layout(tmp_path):
    data = _layout(tmp_path)
    config = resolve_data_paths(named_config("semeval"), data)
    assert config.embeddings_corpus == str((tmp_path / "unlabeled" / "tweets-en.txt").resolve())
    assert sorted(Path(p).name for p in config.lexicons) == sorted(SHARED_LEXICONS)
    assert all(Path(p).is_file() for p in config.lexicons)


def test_missing_resource_names_field_and_path(tmp_path):
    config = TrainConfig(lexicons=["{data}/../lexicons/absent.txt"])
    with pytest.raises(FileNotFoundError, match="lexicons: .*absent.txt does not exist"):
        resolve_data_paths(config, tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        resolve_data_paths(TrainConfig(embeddings_corpus="{data}/x.txt"), None)


@pytest.mark.slow  # pre-trains vectors, then trains
def test_train_pretrains_vectors_once_and_reads_lexicons_beside_the_data(tmp_path, monkeypatch):
    data = _layout(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("LEM_KERAS_CACHE", str(cache))
    config = dict(TINY, epochs=1, embeddings_corpus="{data}/../unlabeled/tweets-en.txt",
                  lexicons=["{data}/../lexicons/" + SHARED_LEXICONS[0]])
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), "utf-8")

    out = tmp_path / "model"
    code, err = _run(["train", "--data", data, "--format", "semeval", "--config", config_path,
                      "--verbose", 0, "--out", out])
    assert code == 0, err
    vectors = list(cache.glob("word2vec-tweets-en-16d-*.txt"))
    assert len(vectors) == 1 and "coverage" in err
    saved = json.loads((out / "config.json").read_text("utf-8"))
    assert saved["embeddings_corpus"] == str((tmp_path / "unlabeled" / "tweets-en.txt").resolve())
    assert saved["lexicons"] == [str((tmp_path / "lexicons" / SHARED_LEXICONS[0]).resolve())]
    pipeline = json.loads((out / "pipeline.json").read_text("utf-8"))
    nrc_lines = (FIXTURES / "nrc_sample.txt").read_text("utf-8").splitlines()
    nrc_words = {line.split("\t")[0] for line in nrc_lines}
    assert set(pipeline["ebow_vocabulary"]) <= nrc_words | {""}

    stamp = vectors[0].stat().st_mtime_ns
    code, err = _run(["train", "--data", data, "--format", "semeval", "--config", config_path,
                      "--verbose", 0, "--out", tmp_path / "again"])
    assert code == 0, err
    assert vectors[0].stat().st_mtime_ns == stamp  # the cached vectors were reused


def test_missing_layout_is_a_clear_cli_error_and_none_overrides_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LEM_KERAS_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "only-semeval"
    shutil.copytree(FIXTURES / "cli" / "semeval", data)
    config = dict(TINY, epochs=1, embeddings_corpus="{data}/../unlabeled/tweets-en.txt",
                  vocabulary_from_vectors=True)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), "utf-8")
    code, err = _run(["train", "--data", data, "--format", "semeval", "--config", config_path,
                      "--out", tmp_path / "m"])
    assert code == 2
    assert "embeddings_corpus" in err and "tweets-en.txt does not exist" in err and "Traceback" not in err
    code, err = _run(["train", "--data", data, "--format", "semeval", "--config", config_path,
                      "--embeddings", "none", "--verbose", 0, "--out", tmp_path / "m"])
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "config.json").read_text("utf-8"))
    assert saved["embeddings_corpus"] is None and saved["vocabulary_from_vectors"] is False


def test_chinese_config_takes_the_stopword_list_beside_the_data(tmp_path):
    shutil.copy(FIXTURES / "stopwords_cn_sample.txt", tmp_path / "stopwords_cn.txt")
    config = resolve_data_paths(TrainConfig(language="zh"), tmp_path)
    assert config.stopwords == str(tmp_path / "stopwords_cn.txt")
    assert resolve_data_paths(TrainConfig(language="en"), tmp_path).stopwords is None
    assert resolve_data_paths(TrainConfig(language="zh"), None).stopwords is None


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "experiments").glob("*.json")),
    ids=lambda p: p.stem,
)
def test_experiment_configurations_are_valid_and_resolve(path, tmp_path):
    # The README's experiment table points at these files: each must be a valid
    # configuration (no misspelt key) whose resources resolve in the shared layout.
    config = TrainConfig.from_dict(json.loads(path.read_text("utf-8")))
    resolve_data_paths(config, _layout(tmp_path))
    assert all(Path(p).is_file() for p in config.lexicons)


def test_shipped_ren_cecps_reads_characters_and_the_word_level_one_stays_named():
    shipped, words = named_config("ren-cecps"), named_config("ren-cecps-words")
    assert (shipped.segmentation, shipped.ebow_ngrams, shipped.wide) == ("characters", 2, True)
    assert (words.segmentation, words.ebow_ngrams, words.wide) == ("pre-segmented", 1, False)
