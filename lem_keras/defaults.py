"""Default sizes of LEM's layers: the one set shared by the layers, the model and
``lem_keras.config.ModelConfig`` (and so by every ``TrainConfig``)."""

LATENT_HIDDEN = 128  # encoder width of the latent module (eqs. 1-2)
LED_DIM = 64  # E_led, columns of W_led (eq. 5)
EF_DIM = 64  # E_ef, columns of W_ef (eqs. 5, 12)
LE_DIM = 64  # size of R^le_k (eq. 8)
ATTENTION_DIM = 32  # hidden size of eq. 8's additive attention
GRU_UNITS = 64  # units per direction of the emotion-axis BiGRU (eq. 16)
DROPOUT = 0.1  # token embeddings and around the emotion BiGRU
WORD_DROPOUT = 0.2  # eBoW word dropout of the latent encoder input
