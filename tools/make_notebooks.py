"""Generate notebooks/01_quickstart.ipynb, 02_reproduce.ipynb and 03_explain.ipynb.

The notebooks are written with nbformat and no outputs (outputs are not kept in git).
Edit this file, not the notebooks, then run

    python tools/make_notebooks.py            # (re)write the three notebooks
    python tools/make_notebooks.py --check    # exit 1 if a notebook differs from this file

Every notebook reads ``LEM_FAST=1`` from the environment and then uses tiny settings
(the test suite runs them so, each in well under a minute).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

SETUP = """\
import os
import sys
from pathlib import Path

# The repository root (this notebook lives in notebooks/); importable without installing.
ROOT = Path.cwd().resolve()
if not (ROOT / "lem_keras").is_dir() and (ROOT.parent / "lem_keras").is_dir():
    ROOT = ROOT.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# LEM_FAST=1: tiny settings, a smoke run of every cell (used by the test suite).
FAST = os.environ.get("LEM_FAST") == "1"
print("fast mode" if FAST else "full demo settings")"""

MARKDOWN_TABLE = '''\
def markdown_table(rows: dict, columns: list, digits: int = 4) -> str:
    """{row name: {column: value}} as a markdown table."""
    head = "| | " + " | ".join(columns) + " |"
    rule = "|---" * (len(columns) + 1) + "|"
    body = [
        f"| {name} | " + " | ".join(
            f"{values[c]:.{digits}f}" if isinstance(values.get(c), float) else str(values.get(c, ""))
            for c in columns
        ) + " |"
        for name, values in rows.items()
    ]
    return "\\n".join([head, rule, *body])'''


def quickstart() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# LEM quickstart: the explicit Keras API\n\n"
            "Latent Emotion Memory (Fei et al., AAAI 2020) on the embedded demo corpus, step by step:\n"
            "text pipeline → `LatentEmotionMemory` → `model.fit` with the paper's alternating schedule "
            "→ thresholds calibrated on dev → the metric table → predictions for new sentences.\n\n"
            "(`lem-keras train` does all of this in one command; this notebook shows the pieces.)"
        ),
        new_code_cell(SETUP),
        new_code_cell(
            "import keras\n"
            "import numpy as np\n\n"
            "from lem_keras import LatentEmotionMemory\n"
            "from lem_keras.callbacks import AlternatingSchedule, PhaseAwareEarlyStopping\n"
            "from lem_keras.data.demo import load_demo\n"
            "from lem_keras.data.featurizer import TextPipeline, make_tf_dataset\n"
            "from lem_keras.metrics import (JaccardAccuracy, MacroF1, MicroF1, calibrate_thresholds,\n"
            "                               multilabel_report)\n\n"
            "keras.utils.set_random_seed(0)"
        ),
        new_markdown_cell(
            "## Data\n\nThe English demo corpus is in the SemEval-2018 E-c format (11 emotions, "
            "multi-label). `load_demo` returns `Dataset`s: `texts`, `labels` (N × K, 0/1), `emotion_names`."
        ),
        new_code_cell(
            'train, dev = load_demo("en")\n'
            'print(f"{len(train.texts)} train / {len(dev.texts)} dev texts")\n'
            'print("emotions:", ", ".join(train.emotion_names))\n'
            "for text, row in list(zip(train.texts, train.labels))[:3]:\n"
            '    print(f"- {text!r} -> {[n for n, y in zip(train.emotion_names, row) if y]}")'
        ),
        new_markdown_cell(
            "## Text pipeline\n\n`TextPipeline.fit` builds the token vocabulary (for the memory) and "
            "the emotion bag-of-words vocabulary (eBoW, the input of the latent module: chi² selection "
            "on the training labels here; a lexicon can be given instead)."
        ),
        new_code_cell(
            "pipeline = TextPipeline().fit(\n"
            '    train.texts, train.labels, language="en", max_length=40, ebow_max_size=500,\n'
            "    emotion_names=train.emotion_names,\n"
            ")\n"
            'print(f"{len(pipeline.token_vocabulary)} tokens, {len(pipeline.ebow_vocabulary)} eBoW words, "\n'
            '      f"max_length {pipeline.max_length}")\n'
            'print("some eBoW words:", pipeline.ebow_vocabulary[:15])'
        ),
        new_markdown_cell(
            "## Model\n\nTwo optimizers: `latent_optimizer` moves the latent module alone in the latent "
            "phase; `optimizer` moves everything in the joint phase."
        ),
        new_code_cell(
            "if FAST:\n"
            "    sizes = dict(embedding_dim=16, hops=1, latent_hidden=16, led_dim=8, ef_dim=8, le_dim=8,\n"
            "                 attention_dim=8, gru_units=8)\n"
            "    EPOCHS, PRETRAIN, PATIENCE = 3, 1, 5\n"
            "else:\n"
            "    sizes = dict(embedding_dim=64, hops=2, latent_hidden=64, led_dim=32, ef_dim=32, le_dim=32,\n"
            "                 attention_dim=16, gru_units=32)\n"
            "    EPOCHS, PRETRAIN, PATIENCE = 40, 3, 8\n\n"
            "model = LatentEmotionMemory(\n"
            "    num_emotions=len(train.emotion_names),\n"
            "    ebow_size=len(pipeline.ebow_vocabulary),\n"
            "    vocab_size=len(pipeline.token_vocabulary),\n"
            "    emotion_names=train.emotion_names,\n"
            "    dropout=0.1,\n"
            "    **sizes,\n"
            ")\n"
            "model.compile(\n"
            "    optimizer=keras.optimizers.Adam(3e-3),\n"
            "    latent_optimizer=keras.optimizers.Adam(3e-3),\n"
            "    metrics=[MicroF1(), MacroF1(), JaccardAccuracy()],\n"
            ")\n"
            'print(f"{model.count_params():,} parameters")'
        ),
        new_markdown_cell(
            "## Training with the paper's schedule\n\n"
            "`AlternatingSchedule`: latent-module pre-training, then joint training, back to the latent "
            "phase for `latent_epochs` when the dev classification loss plateaus, with KL annealing. "
            "`PhaseAwareEarlyStopping` ignores latent-phase epochs (the classifier does not move in them) "
            "and restores the best joint epoch."
        ),
        new_code_cell(
            "train_ds = make_tf_dataset("
            "pipeline, train.texts, train.labels, batch_size=16, shuffle=True, seed=0)\n"
            "dev_ds = make_tf_dataset(pipeline, dev.texts, dev.labels, batch_size=256)\n\n"
            "history = model.fit(\n"
            "    train_ds,\n"
            "    validation_data=dev_ds,\n"
            "    epochs=EPOCHS,\n"
            "    callbacks=[\n"
            "        AlternatingSchedule(pretrain_epochs=PRETRAIN, latent_epochs=1, plateau_patience=2,\n"
            "                            kl_anneal_epochs=PRETRAIN + 2),\n"
            '        PhaseAwareEarlyStopping(monitor="val_micro_f1", mode="max", patience=PATIENCE,\n'
            "                                restore_best_weights=True),\n"
            "    ],\n"
            "    verbose=0,\n"
            ")\n"
            'for epoch, (phase, f1) in enumerate('
            'zip(history.history["phase"], history.history["val_micro_f1"]), 1):\n'
            "    print(f\"epoch {epoch:2d}  {'joint ' if phase else 'latent'}  val_micro_f1 {f1:.3f}\")"
        ),
        new_markdown_cell(
            "### Training curves\n\nThe two losses (eq. 17's classification loss on train and dev; "
            "eq. 6's latent-module loss, reconstruction + KL) and the phase of each epoch: in latent "
            "epochs only the latent module trains, so the classification loss stands still."
        ),
        new_code_cell(
            "import matplotlib.pyplot as plt\n\n"
            "h = history.history\n"
            "epochs = range(1, len(h[\"loss\"]) + 1)\n"
            "fig, (losses, phases) = plt.subplots(\n"
            "    2, 1, figsize=(7, 5), sharex=True, gridspec_kw={\"height_ratios\": [3, 1]})\n"
            "losses.plot(epochs, h[\"classification_loss\"], label=\"classification loss (train)\")\n"
            "losses.plot(epochs, h[\"val_classification_loss\"], label=\"classification loss (dev)\")\n"
            "losses.plot(epochs, np.add(h[\"reconstruction_loss\"], h[\"kl_loss\"]),\n"
            "            label=\"latent loss: reconstruction + KL (train)\")\n"
            "losses.set_yscale(\"log\")\n"
            "losses.set_ylabel(\"loss\")\n"
            "losses.legend(fontsize=8)\n"
            "phases.step(epochs, h[\"phase\"], where=\"mid\", color=\"tab:purple\")\n"
            "phases.set_yticks([0, 1], [\"latent\", \"joint\"])\n"
            "phases.set_xlabel(\"epoch\")\n"
            "phases.set_ylabel(\"phase\")\n"
            "fig.tight_layout()\n"
            "plt.show()"
        ),
        new_markdown_cell(
            "## Evaluation\n\nOne decision threshold per emotion, each maximising that emotion's F1 on "
            "dev (`calibrate_thresholds`), stored in the model (`set_thresholds`). The demo corpus has no "
            "test split, so these dev numbers are optimistic; use a held-out file for real numbers."
        ),
        new_code_cell(
            "dev_features = pipeline.transform(dev.texts)\n"
            "dev_scores = model.predict(dev_features, verbose=0)\n"
            "thresholds = calibrate_thresholds(dev.labels, dev_scores)\n"
            "model.set_thresholds(thresholds)\n\n"
            "at_half = multilabel_report(dev.labels, dev_scores, 0.5)\n"
            "calibrated = multilabel_report(dev.labels, dev_scores, thresholds)\n"
            "print(f\"{'metric':>14s}  {'t=0.5':>7s}  {'calibrated':>10s}\")\n"
            "for key in calibrated:\n"
            '    print(f"{key:>14s}  {at_half[key]:7.4f}  {calibrated[key]:10.4f}")\n'
            "assert all(0.0 <= v <= 1.0 for v in calibrated.values())"
        ),
        new_markdown_cell("## Predicting new sentences"),
        new_code_cell(
            "sentences = [\n"
            '    "I am so happy, we finally won the match!",\n'
            '    "Terrified of the exam tomorrow, I cannot sleep",\n'
            '    "He lied to me again, I am furious",\n'
            '    "Missing you so much, I keep crying",\n'
            "]\n"
            "features = pipeline.transform(sentences)\n"
            "probabilities = model.predict(features, verbose=0)\n"
            "predicted = model.predict_labels(features)\n"
            "names = model.emotion_names\n"
            "for text, p, row in zip(sentences, probabilities, predicted):\n"
            '    top = ", ".join(f"{names[k]} {p[k]:.2f}" for k in np.argsort(-p)[:3])\n'
            '    chosen = [n for n, y in zip(names, row) if y] or ["(none)"]\n'
            "    print(f\"{text}\\n    predicted: {', '.join(chosen)}   (top: {top})\")\n"
            "assert probabilities.shape == (len(sentences), len(names))"
        ),
        new_markdown_cell(
            "## Why: the explanation (the paper's Figure 4)\n\n"
            "The latent emotion distribution Z (red: the predicted emotions, with each emotion's "
            "probability) and, per emotion, the memory's attention over the tokens "
            "(`lem-keras explain --model DIR TEXT` draws the same figure)."
        ),
        new_code_cell(
            "from lem_keras.explain import draw_explanation, explain_text\n\n"
            "explanation = explain_text(model, pipeline, sentences[0])\n"
            "print(\"predicted:\", explanation[\"emotions\"] or \"(none)\")\n"
            "fig = draw_explanation(explanation)\n"
            "plt.show()"
        ),
        new_markdown_cell(
            "Save it as `lem-keras train --out DIR` does "
            "(then `lem-keras predict --model DIR` works on it):\n\n"
            "```python\n"
            'model.save("DIR/model.keras"); pipeline.save("DIR")\n'
            "```"
        ),
    ]
    return new_notebook(cells=cells)


def reproduce() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# Reproducing the paper's comparison\n\n"
            "`benchmarks/reproduce.py` trains LEM, its ablations (LEM-Wled: no latent embedding in eq. 15; "
            "LEM-Rle: no R^le in eq. 8's attention) and the baselines on SemEval-2018 E-c and Ren-CECps, "
            "and writes `results/*.json` and `results/*.md`. This notebook shows those tables when they "
            "exist; otherwise it runs a small version of the comparison on the embedded demo corpus."
        ),
        new_code_cell(SETUP),
        new_code_cell("import json\n\nfrom IPython.display import Markdown, display\n\n" + MARKDOWN_TABLE),
        new_markdown_cell("## Tables written by `benchmarks/reproduce.py`"),
        new_code_cell(
            'RESULTS = ROOT / "results"\n'
            'markdown_files = sorted(RESULTS.glob("*.md")) if RESULTS.is_dir() else []\n'
            'json_files = sorted(RESULTS.glob("*.json")) if RESULTS.is_dir() else []\n'
            "for path in markdown_files:\n"
            '    display(Markdown(f"### {path.name}\\n\\n" + path.read_text(encoding="utf-8")))\n'
            "md_stems = {p.stem for p in markdown_files}\n"
            "for path in json_files:\n"
            "    if path.stem in md_stems:\n"
            "        continue  # already shown as markdown\n"
            '    data = json.loads(path.read_text(encoding="utf-8"))\n'
            "    rows = data if isinstance(data, dict) else {}\n"
            "    if rows and all(isinstance(v, dict) for v in rows.values()):\n"
            "        columns = sorted("
            "{c for v in rows.values() for c in v if isinstance(v[c], (int, float))})\n"
            '        display(Markdown(f"### {path.name}\\n\\n" + markdown_table(rows, columns)))\n'
            "    else:\n"
            '        display(Markdown('
            'f"### {path.name}\\n\\n```json\\n{json.dumps(data, indent=1)[:4000]}\\n```"))\n'
            "HAVE_RESULTS = bool(markdown_files or json_files)\n"
            'print("results found:", '
            '[p.name for p in markdown_files + json_files] if HAVE_RESULTS else "none")'
        ),
        new_markdown_cell(
            "## A small comparison on the demo corpus\n\n"
            "Runs when there are no results above. Every model selects its thresholds on dev and is "
            "scored on dev (the demo corpus has no test split), so the numbers compare the models with "
            "each other, not with the paper."
        ),
        new_code_cell(
            "from lem_keras.baselines import TfidfLogisticRegression\n"
            "from lem_keras.data.demo import load_demo\n"
            "from lem_keras.metrics import calibrate_thresholds, multilabel_report\n"
            "from lem_keras.training import TrainConfig, named_config, train\n\n"
            'train_data, dev_data = load_demo("en")\n\n'
            "def demo_config(**changes) -> TrainConfig:\n"
            "    if FAST:  # smoke run: tiny model, joint phase only\n"
            "        config = TrainConfig(max_length=40, ebow_max_size=500, embedding_dim=16, hops=1,\n"
            "                             latent_hidden=16, led_dim=8, ef_dim=8, le_dim=8, attention_dim=8,\n"
            "                             gru_units=8, batch_size=32, learning_rate=0.01, epochs=2,\n"
            "                             pretrain_epochs=0, latent_epochs=0, kl_anneal_epochs=0)\n"
            "    else:\n"
            '        config = named_config("demo")\n'
            "    for key, value in changes.items():\n"
            "        setattr(config, key, value)\n"
            "    return config\n\n"
            "VARIANTS = {\n"
            '    "LEM": demo_config(),\n'
            '    "LEM-Wled": demo_config(use_wled=False),\n'
            '    "LEM-Rle": demo_config(use_rle=False),\n'
            "}"
        ),
        new_code_cell(
            "rows = {}\n"
            "if not HAVE_RESULTS:\n"
            "    for name, config in VARIANTS.items():\n"
            "        result = train(config, train_data, dev_data, verbose=0, log=lambda message: None)\n"
            '        rows[name] = {**result.dev_metrics, "seconds": round(result.seconds, 1)}\n'
            "        print(f\"{name}: micro_f1 {result.dev_metrics['micro_f1']:.4f} "
            "in {result.seconds:.0f} s\")\n"
            "    baseline = TfidfLogisticRegression().fit(train_data.texts, train_data.labels)\n"
            "    scores = baseline.predict_scores(dev_data.texts)\n"
            '    rows["TF-IDF + LR"] = {**multilabel_report(dev_data.labels, scores,\n'
            "                                               calibrate_thresholds(dev_data.labels, scores)),\n"
            '                           "seconds": ""}\n'
            '    columns = ["micro_f1", "macro_f1", "jaccard", "hamming_loss", "ranking_loss", '
            '"macro_pr_auc",\n'
            '               "seconds"]\n'
            "    table = markdown_table(rows, columns)\n"
            "    print(table)\n"
            "    display(Markdown(table))\n"
            '    assert all(0.0 <= rows[n]["micro_f1"] <= 1.0 for n in rows)'
        ),
        new_markdown_cell(
            "Higher is better for the F1 scores, Jaccard and PR-AUC; lower for Hamming and ranking loss."
        ),
    ]
    return new_notebook(cells=cells)


def explain() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(
            "# What LEM looks at\n\n"
            "For one sentence: the latent emotion distribution Z (the latent module's guess of the "
            "emotion mix) and each emotion's memory attention over the tokens (the paper's Figure 4). "
            "Over a corpus: each emotion's most attended words (the paper's Table 7)."
        ),
        new_code_cell(SETUP),
        new_code_cell(
            "from IPython.display import Image, Markdown, display\n\n"
            "from lem_keras.data.demo import load_demo\n"
            "from lem_keras.explain import emotion_keywords, explain_text, plot_explanation\n"
            "from lem_keras.training import TrainConfig, load_artifacts, named_config, train\n\n"
            'train_data, dev_data = load_demo("en")'
        ),
        new_markdown_cell(
            "## A model\n\nLoaded from `LEM_MODEL_DIR` (a directory written by `lem-keras train --out DIR`) "
            "when set, otherwise trained here on the demo corpus."
        ),
        new_code_cell(
            'MODEL_DIR = os.environ.get("LEM_MODEL_DIR")\n'
            'if MODEL_DIR and (Path(MODEL_DIR) / "model.keras").is_file():\n'
            "    model, pipeline = load_artifacts(MODEL_DIR)\n"
            '    print("loaded", MODEL_DIR)\n'
            "else:\n"
            "    if FAST:\n"
            "        config = TrainConfig(max_length=40, ebow_max_size=500, embedding_dim=16, hops=1,\n"
            "                             latent_hidden=16, led_dim=8, ef_dim=8, le_dim=8, attention_dim=8,\n"
            "                             gru_units=8, batch_size=32, learning_rate=0.01, epochs=3,\n"
            "                             pretrain_epochs=0, latent_epochs=0, kl_anneal_epochs=0)\n"
            "    else:\n"
            '        config = named_config("demo")\n'
            "    result = train(config, train_data, dev_data, verbose=0)\n"
            "    model, pipeline = result.model, result.pipeline\n"
            "    print({k: round(v, 3) for k, v in result.dev_metrics.items()})"
        ),
        new_markdown_cell("## One sentence"),
        new_code_cell(
            'explanation = explain_text('
            'model, pipeline, "so scared of the storm tonight but happy my friends are here 😊")\n'
            'print("tokens:   ", explanation["tokens"])\n'
            'print("predicted:", explanation["emotions"])\n'
            'for name, z in sorted('
            'explanation["latent_distribution"].items(), key=lambda item: -item[1])[:5]:\n'
            '    weights = explanation["attention"][name]\n'
            '    top = sorted(zip(explanation["tokens"], weights), key=lambda item: -item[1])[:3]\n'
            "    print(f\"{name:>12s}  Z={z:.3f}  p={explanation['probabilities'][name]:.3f}  \"\n"
            "          f\"attends to {', '.join(f'{t} ({w:.2f})' for t, w in top)}\")\n"
            'assert all(len(w) == len(explanation["tokens"]) for w in explanation["attention"].values())'
        ),
        new_code_cell(
            "import tempfile\n\n"
            'figure = plot_explanation(explanation, Path(tempfile.mkdtemp()) / "explanation.png")\n'
            "display(Image(filename=str(figure)))"
        ),
        new_markdown_cell(
            "## Each emotion's keywords (Table 7)\n\n"
            "For every dev sentence and every emotion, the 3 most attended tokens; counted over the dev set."
        ),
        new_code_cell(
            "keywords = emotion_keywords(model, pipeline, dev_data.texts, per_sentence=3, top=8)\n"
            'lines = ["| emotion | most attended words (count) |", "|---|---|"]\n'
            "for name, words in keywords.items():\n"
            '    lines.append(f"| {name} | " + ", ".join(f"{w} ({c})" for w, c in words) + " |")\n'
            'table = "\\n".join(lines)\n'
            "print(table)\n"
            "display(Markdown(table))\n"
            "assert list(keywords) == list(model.emotion_names)"
        ),
    ]
    return new_notebook(cells=cells)


NOTEBOOK_BUILDERS = {
    "01_quickstart.ipynb": quickstart,
    "02_reproduce.ipynb": reproduce,
    "03_explain.ipynb": explain,
}


def render(builder) -> str:
    notebook = builder()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"  # stable ids: regenerating gives the same file
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a notebook is not what this file writes"
    )
    parser.add_argument("--out", type=Path, default=NOTEBOOKS, help="target folder (default notebooks/)")
    args = parser.parse_args(argv)
    stale = []
    for name, builder in NOTEBOOK_BUILDERS.items():
        path = args.out / name
        text = render(builder)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date (run python tools/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
