"""tf.linalg: values against TensorFlow, gradients checked numerically (1st and 2nd order)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity


def _well_conditioned(rng, shape, dtype=np.float64):
    n = shape[-1]
    return (rng.normal(size=shape) + 3 * np.eye(n)).astype(dtype)


def _spd(rng, shape, dtype=np.float64):
    b = rng.normal(size=shape)
    return (b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _sym(fw, b):
    """A symmetric positive-definite matrix from any square b (differentiable)."""
    n = b.shape[-1]
    return fw.matmul(b, b, transpose_b=True) + n * fw.eye(n, dtype=b.dtype)


# -- values and gradients beside TensorFlow --------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)], ids=str)
def test_inv_det_slogdet_match_tf(real_tf, rng, shape):
    a = _well_conditioned(rng, shape)
    tf_parity.check(lambda m, a: (m.linalg.inv(a), m.linalg.det(a), m.linalg.slogdet(a),
                                  m.linalg.inv(a, adjoint=True)), [a], real_tf=real_tf)


@pytest.mark.parametrize("adjoint", [False, True])
def test_solve_matches_tf(real_tf, rng, adjoint):
    a, b = _well_conditioned(rng, (2, 3, 3)), rng.normal(size=(2, 3, 2))
    tf_parity.check(lambda m, a, b: m.linalg.solve(a, b, adjoint=adjoint), [a, b],
                    real_tf=real_tf)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_triangular_solve_matches_tf(real_tf, rng, lower, adjoint):
    a, b = _well_conditioned(rng, (4, 4)), rng.normal(size=(4, 2))
    tf_parity.check(lambda m, a, b: m.linalg.triangular_solve(a, b, lower=lower,
                                                              adjoint=adjoint),
                    [a, b], real_tf=real_tf)


def test_cholesky_and_logdet_match_tf(real_tf, rng):
    a = _spd(rng, (2, 3, 3))
    tf_parity.check(lambda m, a: (m.linalg.cholesky(a), m.linalg.logdet(a)), [a],
                    real_tf=real_tf)


def test_eigh_matches_tf_up_to_eigenvector_signs(real_tf, rng):
    a = _spd(rng, (3, 4, 4))

    def expr(m, a):
        e, v = m.linalg.eigh(a)
        signs = m.sign(v[..., :1, :])     # one sign convention per eigenvector
        return e, v * signs
    tf_parity.check(expr, [a], real_tf=real_tf)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 5, 3)], ids=str)
def test_qr_matches_tf_up_to_signs(real_tf, rng, shape):
    a = rng.normal(size=shape)

    def expr(m, a):
        q, r = m.linalg.qr(a)
        d = m.sign(m.linalg.diag_part(r))
        return q * d[..., None, :], r * d[..., :, None]
    tf_parity.check(expr, [a], real_tf=real_tf)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 5, 2)], ids=str)
def test_svd_matches_tf_up_to_signs(real_tf, rng, shape):
    a = rng.normal(size=shape)

    def expr(m, a):
        s, u, v = m.linalg.svd(a)
        signs = m.sign(u[..., :1, :])
        return s, u * signs, v * signs, m.linalg.svd(a, compute_uv=False)
    tf_parity.check(expr, [a], real_tf=real_tf)


def test_diagonal_ops_match_tf(real_tf, rng):
    x, d = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    tf_parity.check(lambda m, x, d: (
        m.linalg.diag(d), m.linalg.diag(d, k=1), m.linalg.diag(d, k=-2, num_cols=3),
        m.linalg.diag_part(x), m.linalg.diag_part(x, k=1), m.linalg.diag_part(x, k=-1),
        m.linalg.set_diag(x, d), m.linalg.trace(x),
        m.linalg.band_part(x, 1, 0), m.linalg.band_part(x, -1, 1), m.linalg.band_part(x, 0, -1)),
        [x, d], real_tf=real_tf)


def test_transposes_matvec_and_eye_match_tf(real_tf, rng):
    a, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    tf_parity.check(lambda m, a, v: (m.linalg.matrix_transpose(a), m.linalg.adjoint(a),
                                     m.linalg.matvec(a, v, transpose_a=True),
                                     m.linalg.eye(3, 2, batch_shape=[2])),
                    [a, v], real_tf=real_tf)


def test_float32_values_match_tf(real_tf, rng):
    a = _spd(rng, (3, 3), np.float32)
    tf_parity.check(lambda m, a: (m.linalg.inv(a), m.linalg.det(a), m.linalg.cholesky(a),
                                  m.linalg.solve(a, a[:, :1]), m.linalg.eigh(a)[0]),
                    [a], rtol=1e-4, atol=1e-5, real_tf=real_tf)


# -- gradients: first and second order --------------------------------------------------------

@pytest.mark.parametrize("name", ["inv", "det", "logabsdet"])
def test_inverse_and_determinant_gradients(rng, name):
    a = _well_conditioned(rng, (2, 3, 3))
    f = {"inv": tf.linalg.inv, "det": tf.linalg.det,
         "logabsdet": lambda a: tf.linalg.slogdet(a)[1]}[name]
    check_gradients(f, [a])
    check_gradients(lambda a: tf.linalg.inv(a, adjoint=True), [a])


@pytest.mark.parametrize("adjoint", [False, True])
def test_solve_gradients(rng, adjoint):
    a, b = _well_conditioned(rng, (3, 3)), rng.normal(size=(3, 2))
    check_gradients(lambda a, b: tf.linalg.solve(a, b, adjoint=adjoint), [a, b])


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_triangular_solve_gradients(rng, lower, adjoint):
    a, b = _well_conditioned(rng, (3, 3)), rng.normal(size=(3, 2))
    check_gradients(lambda a, b: tf.linalg.triangular_solve(a, b, lower=lower, adjoint=adjoint),
                    [a, b])


def test_triangular_solve_broadcasts_batches(rng):
    a, b = _well_conditioned(rng, (3, 3)), rng.normal(size=(2, 3, 2))
    check_gradients(lambda a, b: tf.linalg.triangular_solve(a, b), [a, b])


def test_cholesky_and_logdet_gradients(rng):
    b = rng.normal(size=(2, 3, 3))
    check_gradients(lambda b: tf.linalg.cholesky(_sym(tf, b)), [b])
    check_gradients(lambda b: tf.linalg.logdet(_sym(tf, b)), [b])
    check_gradients(lambda b, r: tf.linalg.cholesky_solve(tf.linalg.cholesky(_sym(tf, b)), r),
                    [b, rng.normal(size=(2, 3, 1))])


def test_eigh_gradients(rng):
    b = rng.normal(size=(3, 3))

    def f(b):
        e, v = tf.linalg.eigh(_sym(tf, b))
        return e, v * tf.sign(v[:1, :])
    check_gradients(f, [b])
    check_gradients(lambda b: tf.linalg.eigvalsh(_sym(tf, b)), [b])


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5)], ids=str)
def test_qr_gradients(rng, shape):
    a = rng.normal(size=shape)
    check_gradients(lambda a: tf.linalg.qr(a), [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2)], ids=str)
def test_svd_gradients(rng, shape):
    a = rng.normal(size=shape)

    def f(a):
        s, u, v = tf.linalg.svd(a)
        signs = tf.sign(u[..., :1, :])
        return s, u * signs, v * signs
    check_gradients(f, [a])
    check_gradients(lambda a: tf.linalg.svd(a, compute_uv=False), [a])


def test_diagonal_and_band_gradients(rng):
    x, d = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    check_gradients(lambda d: tf.linalg.diag(d, k=1), [d])
    check_gradients(lambda x: tf.linalg.diag_part(x, k=-1), [x])
    check_gradients(lambda x, d: tf.linalg.set_diag(x, d), [x, d])
    check_gradients(lambda x: tf.linalg.band_part(x, 1, 0), [x])
    check_gradients(tf.linalg.trace, [x])


def test_matvec_gradients(rng):
    check_gradients(lambda a, v: tf.linalg.matvec(a, v), [rng.normal(size=(5, 3)),
                                                          rng.normal(size=3)])


def test_gradients_inside_tf_function(rng):
    a = tf.Variable(_well_conditioned(rng, (3, 3)))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = tf.linalg.logdet(_sym(tf, a)) + tf.reduce_sum(tf.linalg.inv(a))
        return tape.gradient(y, a)
    with tf.GradientTape() as tape:
        y = tf.linalg.logdet(_sym(tf, a)) + tf.reduce_sum(tf.linalg.inv(a))
    np.testing.assert_allclose(step().numpy(), tape.gradient(y, a).numpy(), rtol=1e-10)


# -- errors (TF's) -----------------------------------------------------------------------

def test_non_square_input_is_invalid_argument():
    for f in (tf.linalg.inv, tf.linalg.det, tf.linalg.cholesky, tf.linalg.eigh):
        with pytest.raises(tf.errors.InvalidArgumentError, match="Input matrix must be square"):
            f(tf.ones([2, 3]))


def test_rank_one_input_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have rank >= 2, got 1"):
        tf.linalg.svd(tf.ones([2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 2-dim"):
        tf.linalg.diag_part(tf.ones([2]))


def test_singular_matrix_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input is not invertible"):
        tf.linalg.inv(tf.ones([2, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input matrix is not invertible"):
        tf.linalg.solve(tf.ones([2, 2]), tf.ones([2, 1]))


def test_incompatible_rhs_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError, match="incompatible"):
        tf.linalg.solve(tf.eye(2), tf.ones([3, 1]))


def test_cholesky_of_indefinite_matrix_gives_nan_as_tf(real_tf):
    a = -np.eye(2, dtype=np.float32)
    ours, theirs = tf.linalg.cholesky(a).numpy(), real_tf.linalg.cholesky(a).numpy()
    # Only the lower triangle is defined (TF leaves the rest of its buffer as it was).
    np.testing.assert_array_equal(np.isnan(np.tril(ours)), np.isnan(np.tril(theirs)))
    assert np.isnan(np.tril(ours)).any()


def test_integer_input_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="int32 is not in the list"):
        tf.linalg.inv(tf.ones([2, 2], tf.int32))




def test_complex_gradient_is_refused_by_name():
    a = tf.constant(np.eye(2) * (1 + 1j))
    with tf.GradientTape() as tape:
        tape.watch(a)
        y = tf.linalg.inv(a)
    with pytest.raises(NotImplementedError, match="gradient of inv supports real dtypes"):
        tape.gradient(y, a)


def test_complex_values_match_tf(real_tf, rng):
    a = (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)) + 3 * np.eye(3)).astype(
        np.complex128)
    tf_parity.check(lambda m, a: (m.linalg.inv(a), m.linalg.det(a), m.linalg.solve(a, a)),
                    [a], grads=False, real_tf=real_tf)


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "solve", "triangular_solve",
                                  "cholesky", "qr", "eigh", "svd", "diag_part", "set_diag",
                                  "band_part", "trace", "logdet", "matvec"])
def test_traced_with_unknown_dims_matches_eager(rng, name):
    a = _spd(rng, (4, 4))
    f = {"solve": lambda x: tf.linalg.solve(x, x),
         "triangular_solve": lambda x: tf.linalg.triangular_solve(x, x),
         "set_diag": lambda x: tf.linalg.set_diag(x, tf.linalg.diag_part(x) * 2),
         "band_part": lambda x: tf.linalg.band_part(x, 0, -1),
         "matvec": lambda x: tf.linalg.matvec(x, x[0])}.get(name, getattr(tf.linalg, name))
    traced = tf.function(f, input_signature=[tf.TensorSpec([None, None], tf.float64)])
    for got, want in zip(tf.nest.flatten(traced(a)), tf.nest.flatten(f(tf.constant(a)))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)
