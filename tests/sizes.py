"""Training settings small enough for unit tests (a few seconds per tiny model)."""

TINY_TRAINING = {
    "epochs": 2,
    "pretrain_epochs": 1,
    "latent_epochs": 1,
    "kl_anneal_epochs": 1,
    "embedding_dim": 16,
    "hops": 1,
    "latent_hidden": 16,
    "led_dim": 8,
    "ef_dim": 8,
    "le_dim": 8,
    "attention_dim": 8,
    "gru_units": 8,
    "ebow_max_size": 200,
    "batch_size": 32,
}

#: The network's own sizes among them (``LatentEmotionMemory`` keywords).
TINY_NETWORK = {
    key: TINY_TRAINING[key]
    for key in ("embedding_dim", "hops", "latent_hidden", "led_dim", "ef_dim", "le_dim", "attention_dim",
                "gru_units")
}
