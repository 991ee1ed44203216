"""keras.ops against Keras 3's own (values and dtypes), and gradients through them."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import ops
from tapeflow.testing import check_gradients

F = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]], np.float32)
N = np.array([[1, 4, 2], [0, 3, 5]], np.int32)
P = np.array([[0.2, 0.7, 0.9], [0.6, 0.1, 0.4]], np.float32)

CASES = [
    ("add", (N, 0.5), {}), ("add", (N, F), {}), ("subtract", (F, 2), {}),
    ("multiply", (N, N), {}), ("divide", (N, 2), {}), ("power", (F, 2), {}),
    ("maximum", (F, 0.0), {}), ("minimum", (N, 2), {}), ("greater", (F, 0.0), {}),
    ("equal", (N, 3), {}), ("matmul", (F, F.T), {}), ("matmul", (N, F.T), {}),
    ("dot", (F, F[0]), {}), ("einsum", ("ij,kj->ik", F, F), {}),
    ("square", (N,), {}), ("sqrt", (P,), {}), ("exp", (F,), {}), ("log", (P,), {}),
    ("abs", (F,), {}), ("negative", (N,), {}), ("sign", (F,), {}), ("floor", (F,), {}),
    ("tanh", (F,), {}), ("relu", (F,), {}), ("sigmoid", (F,), {}), ("softplus", (F,), {}),
    ("silu", (F,), {}), ("gelu", (F,), {}), ("leaky_relu", (F,), {}), ("elu", (F,), {}),
    ("softmax", (F,), {}), ("log_softmax", (F,), {"axis": 0}),
    ("sum", (N,), {}), ("sum", (F,), {"axis": 1, "keepdims": True}), ("mean", (N,), {}),
    ("max", (F,), {"axis": 0}), ("min", (N,), {}), ("prod", (F,), {"axis": 1}),
    ("std", (F,), {}), ("var", (F,), {"axis": 1}), ("logsumexp", (F,), {"axis": 1}),
    ("all", (N,), {}), ("any", (F > 1,), {"axis": 1}),
    ("argmax", (F,), {}), ("argmax", (F,), {"axis": 1}), ("argmin", (N,), {"axis": 0}),
    ("cumsum", (N,), {}), ("cumsum", (F,), {"axis": 1}), ("norm", (F,), {}),
    ("ones", ((2, 3),), {}), ("zeros", ((2,),), {"dtype": "int32"}),
    ("full", ((2, 2), 7), {}), ("ones_like", (N,), {}), ("zeros_like", (F,), {}),
    ("eye", (3,), {}), ("eye", (2, 3), {"k": 1}), ("arange", (5,), {}),
    ("arange", (1, 2.0, 0.25), {}), ("reshape", (F, (3, 2)), {}),
    ("transpose", (F,), {}), ("concatenate", ([F, F],), {"axis": 1}),
    ("stack", ([F, F],), {}), ("expand_dims", (F, 1), {}), ("squeeze", (F[:1],), {}),
    ("tile", (F, (2, 1)), {}), ("take", (F, [4, 0]), {}), ("take", (F, [1], 1), {}),
    ("where", (F > 0, F, 0.0), {}), ("clip", (F, -1.0, 1.0), {}), ("cast", (F, "int32"), {}),
    ("one_hot", ([0, 2, 1], 3), {}), ("sort", (F,), {}),
    ("binary_crossentropy", (np.round(P), P), {}),
    ("binary_crossentropy", (np.round(P), F), {"from_logits": True}),
    ("categorical_crossentropy", (np.eye(3, dtype=np.float32)[:2], P / P.sum(1, keepdims=True)),
     {}),
    ("sparse_categorical_crossentropy", ([2, 0], F), {"from_logits": True}),
]


@pytest.mark.parametrize("name, args, kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_matches_keras(real_tf, name, args, kwargs):
    import keras
    ours = getattr(ops, name)(*args, **kwargs)
    theirs = getattr(keras.ops, name)(*args, **kwargs)
    assert ours.dtype.name == theirs.dtype.name
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=2e-6)


def test_split_and_top_k_match_keras(real_tf):
    import keras
    for a, b in zip(ops.split(F, [1, 2], axis=1), keras.ops.split(F, [1, 2], axis=1)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    values, indices = ops.top_k(F[0], 2)
    theirs = keras.ops.top_k(F[0], 2)
    np.testing.assert_array_equal(values.numpy(), np.asarray(theirs[0]))
    np.testing.assert_array_equal(indices.numpy(), np.asarray(theirs[1]))


def test_shape_is_a_tuple():
    assert ops.shape(ops.zeros((2, 3))) == (2, 3)


def test_gradients_flow_through_promoted_ops():
    w = tf.Variable(F)
    with tf.GradientTape() as tape:
        loss = ops.sum(ops.square(ops.matmul(ops.cast(N, "float32"), ops.transpose(w))))
    grad = tape.gradient(loss, w)
    expected = 2 * (N.astype(np.float32) @ F.T).T @ N.astype(np.float32)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-5)


def test_mixed_dtype_matmul_has_gradients():
    check_gradients(lambda x: ops.matmul(N, x), [F.T.astype(np.float64)])


def test_ops_build_functional_models():
    from tapeflow import keras
    inputs = keras.Input(shape=(3,))
    outputs = ops.relu(ops.matmul(inputs, ops.ones((3, 2))))
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(model(F).numpy(), np.maximum(F @ np.ones((3, 2)), 0))
