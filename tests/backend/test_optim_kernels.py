"""Fused optimizer kernels: values against straightforward reference math and Keras 3."""
import numpy as np
import pytest

from tapeflow.backend import jit
from tapeflow.backend import optim_kernels as ok

# Sizes: tiny, exactly one block, several blocks with a ragged tail, and one
# large enough for the compiled path (when numba is installed).
SIZES = [(3,), (ok.BLOCK,), (5, ok.BLOCK // 3 + 7), (3, jit.MIN_SIZE // 2 + 5)]


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def kernel_path(request, monkeypatch):
    """Runs every test on the blockwise NumPy path and on the compiled one."""
    if request.param == "numpy":
        monkeypatch.setenv("TAPEFLOW_JIT", "0")
    else:
        monkeypatch.setenv("TAPEFLOW_JIT", "1")
        if jit.kernels() is None:
            pytest.skip("numba is not installed")
    return request.param


def _arrays(shape, seed, k):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(k)]


def _ref_sgd(var, g, lr, mom, nesterov, vel):
    if mom == 0:
        return var - lr * g, vel
    vel = mom * vel - lr * g
    return (var + mom * vel - lr * g if nesterov else var + vel), vel


def _ref_adam(var, m, v, g, lr, b1, b2, eps, t, vhat=None):
    alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    vv = v
    if vhat is not None:
        vhat = np.maximum(vhat, v)
        vv = vhat
    return var - alpha * m / (np.sqrt(vv) + eps), m, v, vhat


def _ref_rmsprop(var, ms, g, lr, rho, mom_c, eps, centered, mg, mom):
    ms = rho * ms + (1 - rho) * g * g
    if centered:
        mg = rho * mg + (1 - rho) * g
        den = ms - mg * mg + eps
    else:
        den = ms + eps
    inc = lr * g / np.sqrt(den)
    if mom_c > 0:
        mom = mom_c * mom + inc
        return var - mom, ms, mg, mom
    return var - inc, ms, mg, mom


def _f64(*a):
    return [None if x is None else x.astype(np.float64) for x in a]


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_reference(shape, momentum, nesterov):
    var, g, vel = _arrays(shape, 0, 3)
    rvar, rg, rvel = _f64(var, g, vel)
    for _ in range(3):
        ok.sgd_update(var, g, 0.05, momentum, nesterov, vel if momentum else None)
        rvar, rvel = _ref_sgd(rvar, rg, 0.05, momentum, nesterov, rvel)
    _close(var, rvar)
    if momentum:
        _close(vel, rvel)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_reference(shape, amsgrad):
    var, g = _arrays(shape, 1, 2)
    m = np.zeros(shape, np.float32)
    v = np.zeros(shape, np.float32)
    vhat = np.zeros(shape, np.float32) if amsgrad else None
    rvar, rm, rv, rvhat = _f64(var, m, v, vhat)
    rng = np.random.default_rng(2)
    for t in range(1, 5):
        g = rng.standard_normal(shape).astype(np.float32) * (1.5 if t % 2 else 0.2)
        ok.adam_update(var, m, v, g, 1e-3, 0.9, 0.999, 1e-7, t, vhat)
        rvar, rm, rv, rvhat = _ref_adam(rvar, rm, rv, g.astype(np.float64), 1e-3, 0.9, 0.999,
                                        1e-7, t, rvhat)
    _close(var, rvar)
    _close(m, rm)
    _close(v, rv)
    if amsgrad:
        _close(vhat, rvhat)


def test_adamw_decay_matches_reference():
    (var,) = _arrays((7, 11), 3, 1)
    want = var.astype(np.float64) - var.astype(np.float64) * 0.004 * 0.01
    ok.adamw_decay(var, 0.01, 0.004)
    _close(var, want)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_matches_reference(shape, centered, momentum):
    var, g = _arrays(shape, 4, 2)
    ms = np.zeros(shape, np.float32)
    mg = np.zeros(shape, np.float32) if centered else None
    mom = np.zeros(shape, np.float32) if momentum else None
    rvar, rms, rmg, rmom = _f64(var, ms, mg, mom)
    for _ in range(3):
        ok.rmsprop_update(var, ms, g, 1e-3, 0.9, momentum, 1e-7, centered, mg, mom)
        rvar, rms, rmg, rmom = _ref_rmsprop(rvar, rms, g.astype(np.float64), 1e-3, 0.9, momentum,
                                            1e-7, centered, rmg, rmom)
    _close(var, rvar)
    _close(ms, rms)
    if centered:
        _close(mg, rmg)
    if momentum:
        _close(mom, rmom)


@pytest.mark.parametrize("shape", SIZES)
def test_adagrad_matches_reference(shape):
    var, g = _arrays(shape, 5, 2)
    acc = np.full(shape, 0.1, np.float32)
    rvar, racc, rg = _f64(var, acc, g)
    for _ in range(3):
        ok.adagrad_update(var, acc, g, 0.01, 1e-7)
        racc = racc + rg * rg
        rvar = rvar - 0.01 * rg / np.sqrt(racc + 1e-7)
    _close(var, rvar)
    _close(acc, racc)


def test_updates_stay_in_place_and_float32():
    var, g = _arrays((4, 9), 6, 2)
    m, v = np.zeros_like(var), np.zeros_like(var)
    ids = [id(var), id(m), id(v)]
    ok.adam_update(var, m, v, g, 1e-2, 0.9, 0.999, 1e-7, 1)
    assert [id(var), id(m), id(v)] == ids
    assert var.dtype == m.dtype == v.dtype == np.float32
    assert np.all(m != 0) and np.all(v > 0)


def test_non_contiguous_state_is_updated_through_the_view():
    base = _arrays((6, 8), 7, 1)[0]
    var = base.T  # a transposed view: updates must land in `base`
    g = _arrays((8, 6), 8, 1)[0]
    want = base.T.astype(np.float64) - 0.1 * g
    ok.sgd_update(var, g, 0.1, 0.0, False, None)
    _close(base.T, want)


def test_float64_gradient_is_cast_not_promoted():
    var = np.ones(5, np.float32)
    acc = np.zeros(5, np.float32)
    ok.adagrad_update(var, acc, np.full(5, 0.5), 0.1, 1e-7)
    assert var.dtype == np.float32 and acc.dtype == np.float32
    _close(acc, np.full(5, 0.25))


def test_a_kernel_numba_cannot_compile_falls_back_to_numpy(kernel_path, monkeypatch):
    if kernel_path != "compiled":
        pytest.skip("compiled path only")
    k = jit.kernels()

    def fails_to_compile(*args):
        raise k.compile_errors[0]("cannot compile")
    monkeypatch.setattr(k, "adagrad", fails_to_compile)
    monkeypatch.setitem(jit._state, "kernels", k)
    shape = (3, jit.MIN_SIZE // 2 + 5)
    var, g = _arrays(shape, 19, 2)
    acc = np.full(shape, 0.1, np.float32)
    want = var.astype(np.float64) - 0.01 * g / np.sqrt(0.1 + g.astype(np.float64) ** 2 + 1e-7)
    ok.adagrad_update(var, acc, g, 0.01, 1e-7)
    _close(var, want)
    assert jit._state["kernels"] is None          # switched off for the process


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        ok.sgd_update(np.zeros(4, np.float32), np.zeros(3, np.float32), 0.1, 0.0, False, None)


# -- against Keras 3's optimizers, where TensorFlow is installed ----------------------------

def _keras_run(opt, var0, grads):
    tf = pytest.importorskip("tensorflow")
    v = tf.Variable(var0)
    for g in grads:
        opt.apply_gradients([(tf.constant(g), v)])
    return v.numpy()


def _grads(shape, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_keras(momentum, nesterov):
    tf = pytest.importorskip("tensorflow")
    var0 = _arrays((3, 5), 9, 1)[0]
    grads = _grads((3, 5), 4, 10)
    want = _keras_run(tf.keras.optimizers.SGD(0.05, momentum=momentum, nesterov=nesterov),
                      var0, grads)
    var, vel = var0.copy(), np.zeros_like(var0)
    for g in grads:
        ok.sgd_update(var, g, 0.05, momentum, nesterov, vel)
    _close(var, want)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_keras(amsgrad):
    tf = pytest.importorskip("tensorflow")
    var0 = _arrays((4, 6), 11, 1)[0]
    grads = _grads((4, 6), 5, 12)
    want = _keras_run(tf.keras.optimizers.Adam(0.01, amsgrad=amsgrad), var0, grads)
    var, m, v = var0.copy(), np.zeros_like(var0), np.zeros_like(var0)
    vhat = np.zeros_like(var0) if amsgrad else None
    for t, g in enumerate(grads, 1):
        ok.adam_update(var, m, v, g, 0.01, 0.9, 0.999, 1e-7, t, vhat)
    _close(var, want)


def test_adamw_matches_keras():
    tf = pytest.importorskip("tensorflow")
    var0 = _arrays((4, 6), 13, 1)[0]
    grads = _grads((4, 6), 4, 14)
    want = _keras_run(tf.keras.optimizers.AdamW(0.01, weight_decay=0.1), var0, grads)
    var, m, v = var0.copy(), np.zeros_like(var0), np.zeros_like(var0)
    for t, g in enumerate(grads, 1):
        ok.adamw_decay(var, 0.01, 0.1)   # Keras applies the decay before the Adam step
        ok.adam_update(var, m, v, g, 0.01, 0.9, 0.999, 1e-7, t)
    _close(var, want)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_matches_keras(centered, momentum):
    tf = pytest.importorskip("tensorflow")
    var0 = _arrays((5, 3), 15, 1)[0]
    grads = _grads((5, 3), 4, 16)
    want = _keras_run(tf.keras.optimizers.RMSprop(0.01, momentum=momentum, centered=centered),
                      var0, grads)
    var, ms = var0.copy(), np.zeros_like(var0)
    mg = np.zeros_like(var0) if centered else None
    mom = np.zeros_like(var0) if momentum else None
    for g in grads:
        ok.rmsprop_update(var, ms, g, 0.01, 0.9, momentum, 1e-7, centered, mg, mom)
    _close(var, want)


def test_adagrad_matches_keras():
    tf = pytest.importorskip("tensorflow")
    var0 = _arrays((5, 3), 17, 1)[0]
    grads = _grads((5, 3), 4, 18)
    opt = tf.keras.optimizers.Adagrad(0.01)
    want = _keras_run(opt, var0, grads)
    var = var0.copy()
    acc = np.full_like(var0, opt.initial_accumulator_value)
    for g in grads:
        ok.adagrad_update(var, acc, g, 0.01, opt.epsilon)
    _close(var, want)
