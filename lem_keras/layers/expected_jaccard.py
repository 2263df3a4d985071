"""The emotion set of highest expected Jaccard accuracy (the ``expected_jaccard`` decision rule)."""

import numpy as np
from keras import ops


def expected_jaccard_sets(probabilities):
    """Per row, the top-k emotions whose expected Jaccard accuracy is highest.

    The emotions are taken as independent Bernoulli variables with the given (calibrated)
    probabilities. For each k = 0..K the expected accuracy of predicting the k most probable
    is ``E[A / (k + B)]``, A the gold emotions among them and B those outside (Poisson-
    binomial distributions, computed exactly); ``k = 0`` is right only when no emotion is
    gold. The first best k wins. Keras ops, so that the SavedModel computes it in-graph;
    ``lem_keras.decision.decide`` calls it on numpy arrays.

    Args:
        probabilities: float ``(batch, K)``; K must be known.

    Returns:
        bool ``(batch, K)``: the chosen emotions (none for a row of zeros).

    Example:
    >>> import numpy as np
    >>> np.asarray(expected_jaccard_sets(np.array([[0.9, 0.6, 0.1], [0.0, 0.0, 0.0]], "float32"))).tolist()
    [[True, True, False], [False, False, False]]
    """
    p = ops.convert_to_tensor(probabilities, "float32")
    k_all = int(p.shape[-1])
    order = ops.argsort(-p, axis=-1)
    ranked = ops.take_along_axis(p, order, axis=-1)
    one = ops.ones_like(ranked[:, :1])

    def pmfs(columns):
        """pmf (batch, m + 1) of the count of positives among the first m columns, m = 0..len."""
        pmf = one
        out = [pmf]
        for q in columns:
            q = q[:, None]
            pmf = ops.concatenate([pmf * (1 - q), ops.zeros_like(q)], axis=-1) + ops.concatenate(
                [ops.zeros_like(q), pmf * q], axis=-1)
            out.append(pmf)
        return out

    columns = [ranked[:, j] for j in range(k_all)]
    inside = pmfs(columns)  # inside[k]: the top k
    outside = pmfs(columns[::-1])[::-1]  # outside[k]: the K - k others
    values = [outside[0][:, 0]]
    for k in range(1, k_all + 1):
        weight = np.arange(k + 1)[:, None] / (k + np.arange(k_all - k + 1)[None, :])
        weight = ops.convert_to_tensor(weight, "float32")
        values.append(ops.einsum("na,nb,ab->n", inside[k], outside[k], weight))
    best = ops.argmax(ops.stack(values, axis=-1), axis=-1)  # first best k
    rank = ops.argsort(order, axis=-1)  # each emotion's place in the ranking
    return ops.less(rank, ops.cast(best, rank.dtype)[:, None])
