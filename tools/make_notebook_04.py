"""Write notebooks/04_tuning.ipynb (outputs stripped): a two-trial KerasTuner search on the demo corpus."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# Hyper-parameter search with KerasTuner\n\n"
        "`lem_keras.tuning.LEMHyperModel` is a `keras_tuner.HyperModel`: `build(hp)` sizes LEM "
        "(hops, E_led, E_ef, memory width, GRU units, dropout, learning rate) and `fit(hp, ...)` "
        "chooses the length of latent pre-training. Here: a two-trial random search on the demo "
        "corpus at tiny sizes (`LEM_FAST=1` makes it smaller still). The same search from the "
        "shell: `lem-keras tune --tuner random --max-trials 2 --epochs 2 --out runs/tune-demo`."
    ),
    new_code_cell(
        "import json, os, tempfile\n"
        "from pathlib import Path\n\n"
        "from lem_keras.data.demo import load_demo\n"
        "from lem_keras.training import TrainConfig, load_artifacts, predict_emotions\n"
        "from lem_keras.tuning import format_table, run_search\n\n"
        "FAST = os.environ.get('LEM_FAST') == '1'\n"
        "train, dev = load_demo('en')\n"
        "base = TrainConfig(max_length=20, ebow_max_size=100, embedding_dim=8, latent_hidden=8,\n"
        "                   led_dim=8, ef_dim=8, le_dim=8, attention_dim=8, gru_units=8,\n"
        "                   batch_size=64, learning_rate=0.01, latent_learning_rate=0.01)\n"
        "space = {\n"
        "    'hops': {'min': 1, 'max': 3},\n"
        "    'led_dim': [4, 8], 'ef_dim': [4, 8], 'attention_dim': [4, 8], 'gru_units': [4, 8],\n"
        "    'dropout': [0.0, 0.1], 'learning_rate': [0.003, 0.01],\n"
        "    'pretrain_epochs': {'min': 0, 'max': 1},\n"
        "}\n"
        "epochs = 1 if FAST else 2\n"
        "out = Path(tempfile.mkdtemp(prefix='lem-tune-'))\n"
        "len(train.texts), len(dev.texts), epochs"
    ),
    new_markdown_cell(
        "## The search\n\nThe pipeline is fitted once; each trial builds and trains one model."
    ),
    new_code_cell(
        "result = run_search(base, train, dev, out, tuner='random', max_trials=2, epochs=epochs,\n"
        "                    objective='val_micro_f1', space=space, print_table=False)\n"
        "print(format_table(result.rows, 'val_micro_f1'))\n"
        "result.best_hyperparameters"
    ),
    new_markdown_cell(
        "## What the search left behind\n\n`trials.json` / `trials.md`, TensorBoard HParams logs per "
        "trial in `logs/` (`tensorboard --logdir OUT/logs`), and the best model saved as `lem-keras "
        "train` saves one (dev-calibrated thresholds)."
    ),
    new_code_cell(
        "print(sorted(p.name for p in out.iterdir()))\n"
        "print(sorted(p.name for p in (out / 'logs').iterdir()))\n"
        "json.loads((out / 'metrics.json').read_text())"
    ),
    new_code_cell(
        "model, pipeline = load_artifacts(out)\n"
        "texts = ['what a wonderful surprise', 'this makes me so angry']\n"
        "scores, emotions = predict_emotions(model, pipeline, texts)  # the model's default rule\n"
        "for text, predicted in zip(texts, emotions):\n"
        "    print(text, '->', predicted)"
    ),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(__file__).resolve().parents[1] / "notebooks" / "04_tuning.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
