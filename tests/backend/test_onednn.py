"""tapeflow/backend/onednn.py: every oneDNN path against the NumPy kernels, float64 and TF.

oneDNN is optional: without it (or with TAPEFLOW_ONEDNN=0) these tests check
that the fallback is taken; with it, each kernel is compared with the NumPy
kernel (run with TAPEFLOW_ONEDNN=0), with a float64 reference and, through
the ops, with TensorFlow (values and gradients).
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import blas, dnnl_lib, onednn
from tapeflow.backend import conv as K
from tapeflow.testing import tf_parity

needs_onednn = pytest.mark.skipif(not onednn.available(), reason="oneDNN is not installed")

# (x shape, filter shape, strides, padding, dilations): the seed CNN's layers (small
# batch), strides, SAME/explicit padding, dilation, one channel, odd sizes.
CASES = [
    ((4, 28, 28, 1), (3, 3, 1, 32), (1, 1), "VALID", (1, 1)),
    ((4, 26, 26, 32), (3, 3, 32, 64), (1, 1), "VALID", (1, 1)),
    ((3, 9, 8, 5), (3, 3, 5, 7), (2, 2), "SAME", (1, 1)),
    ((2, 9, 9, 12), (3, 3, 12, 2), (1, 2), "VALID", (2, 1)),
    ((2, 6, 6, 10), (2, 3, 10, 4), (1, 1), ((1, 0), (2, 1)), (1, 1)),
    ((1, 7, 7, 3), (1, 1, 3, 16), (3, 3), "VALID", (1, 1)),
]


@pytest.fixture(params=["whole", "blocks"])
def split(request, monkeypatch):
    """Each oneDNN test runs as one call and split into blocks of images over the pool."""
    if request.param == "blocks":
        monkeypatch.setattr(blas, "MIN_FLOPS", 0)
        monkeypatch.setattr(blas, "pool_size", lambda: 2)
    return request.param


def _arrays(case, rng):
    xs, ws, s, p, d = case
    return (rng.standard_normal(xs).astype(np.float32),
            rng.standard_normal(ws).astype(np.float32), s, p, d)


def _numpy(monkeypatch, fn, *args):
    """fn(*args) on the NumPy kernels."""
    with monkeypatch.context() as m:
        m.setenv("TAPEFLOW_ONEDNN", "0")
        return fn(*args)


def _close(got, want, scale=None):
    assert got.dtype == np.float32 and got.shape == want.shape
    scale = np.abs(want).max() if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * max(scale, 1.0) * 10)


# -- loading -----------------------------------------------------------------------------

def test_the_wheels_library_folder_is_searched_first():
    import sys
    assert dnnl_lib.candidates()[0].startswith(sys.prefix)


def test_tapeflow_onednn_0_disables_it(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    assert not onednn.available() and dnnl_lib.load() is None


def test_a_missing_library_leaves_the_numpy_kernels(monkeypatch, rng):
    monkeypatch.setattr(dnnl_lib, "candidates", lambda: ["/nonexistent/libdnnl.so.3"])
    monkeypatch.setattr(dnnl_lib, "_state", {"lib": None, "tried": False, "pid": None})
    assert dnnl_lib.load() is None and not onednn.available()
    x, w, s, p, d = _arrays(CASES[2], rng)
    ref = K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d)
    _close(K.conv2d(x, w, s, p, d), ref.astype(np.float32))


def test_fallback_runs_the_numpy_kernels_when_disabled(monkeypatch, rng):
    x, w, s, p, d = _arrays(CASES[1], rng)
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    before = onednn.cache_size()
    y = K.conv2d(x, w, s, p, d)
    assert onednn.cache_size() == before
    _close(y, K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d).astype(np.float32))


@needs_onednn
def test_other_dtypes_stay_on_numpy(rng):
    x, w, s, p, d = _arrays(CASES[2], rng)
    assert not onednn.usable(x.astype(np.float64), w)
    assert K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d).dtype == np.float64


# -- convolution kernels -----------------------------------------------------------------

@needs_onednn
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_matches_numpy_and_float64(case, rng, monkeypatch, split):
    x, w, s, p, d = _arrays(case, rng)
    got = onednn.conv2d(x, w, s, p, d)
    ref64 = K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d)
    _close(got, ref64.astype(np.float32))
    _close(got, _numpy(monkeypatch, K.conv2d, x, w, s, p, d))


@needs_onednn
@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_fuses_bias_and_relu(case, rng, split):
    x, w, s, p, d = _arrays(case, rng)
    b = rng.standard_normal(w.shape[3]).astype(np.float32)
    ref = K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d) + b
    _close(onednn.conv2d(x, w, s, p, d, bias=b), ref.astype(np.float32))
    _close(onednn.conv2d(x, w, s, p, d, bias=b, relu=True),
           np.maximum(ref, 0).astype(np.float32))
    _close(onednn.conv2d(x, w, s, p, d, relu=True),
           np.maximum(ref - b, 0).astype(np.float32))


@needs_onednn
@pytest.mark.parametrize("case", CASES, ids=str)
def test_input_gradient_matches_numpy_and_float64(case, rng, monkeypatch, split):
    x, w, s, p, d = _arrays(case, rng)
    dy = rng.standard_normal(K.conv2d(x, w, s, p, d).shape).astype(np.float32)
    got = onednn.conv2d_backprop_input(x.shape, w, dy, s, p, d)
    ref64 = K.conv2d_backprop_input(x.shape, w.astype(np.float64), dy.astype(np.float64), s, p, d)
    _close(got, ref64.astype(np.float32))
    _close(got, _numpy(monkeypatch, K.conv2d_backprop_input, x.shape, w, dy, s, p, d))


@needs_onednn
@pytest.mark.parametrize("case", CASES, ids=str)
def test_filter_and_bias_gradients_match_numpy_and_float64(case, rng, monkeypatch, split):
    x, w, s, p, d = _arrays(case, rng)
    dy = rng.standard_normal(K.conv2d(x, w, s, p, d).shape).astype(np.float32)
    dw, db = onednn.conv2d_backprop_filter(x, w.shape, dy, s, p, d, with_bias=True)
    ref64 = K.conv2d_backprop_filter(x.astype(np.float64), w.shape, dy.astype(np.float64),
                                     s, p, d)
    _close(dw, ref64.astype(np.float32))
    _close(dw, _numpy(monkeypatch, K.conv2d_backprop_filter, x, w.shape, dy, s, p, d))
    _close(db, dy.astype(np.float64).sum(axis=(0, 1, 2)).astype(np.float32))
    _close(onednn.conv2d_backprop_filter(x, w.shape, dy, s, p, d), dw)


@needs_onednn
def test_strided_and_transposed_inputs_give_the_contiguous_results(rng, split):
    x, w, s, p, d = _arrays(CASES[1], rng)
    xt = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)   # H, W swapped
    wide = np.zeros(x.shape[:3] + (2 * x.shape[3],), np.float32)
    wide[..., ::2] = x                                                        # channel stride 2
    wf = np.asfortranarray(w)
    want = onednn.conv2d(x, w, s, p, d)
    for xv in (xt, wide[..., ::2]):
        _close(onednn.conv2d(xv, wf, s, p, d), want)
    dy = rng.standard_normal(want.shape).astype(np.float32)
    dyt = np.ascontiguousarray(dy.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    _close(onednn.conv2d_backprop_input(x.shape, wf, dyt, s, p, d),
           onednn.conv2d_backprop_input(x.shape, w, dy, s, p, d))
    _close(onednn.conv2d_backprop_filter(xt, w.shape, dyt, s, p, d),
           onednn.conv2d_backprop_filter(x, w.shape, dy, s, p, d))


@needs_onednn
def test_primitives_are_created_once_per_shape(rng):
    x, w, s, p, d = _arrays(CASES[2], rng)
    onednn.conv2d(x, w, s, p, d)
    before = onednn.cache_size()
    for _ in range(3):
        onednn.conv2d(x, w * 2, s, p, d)
    assert onednn.cache_size() == before
    onednn.conv2d(x[:2], w, s, p, d)
    assert onednn.cache_size() == before + 1


@needs_onednn
def test_the_primitive_cache_is_bounded(rng, monkeypatch):
    monkeypatch.setattr(onednn, "_cache", {})
    monkeypatch.setattr(onednn, "MAX_PRIMITIVES", 3)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    for n in range(1, 6):
        x = rng.standard_normal((n, 6, 6, 2)).astype(np.float32)
        _close(onednn.conv2d(x, w, (1, 1), "VALID", (1, 1)),
               K.conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), "VALID",
                        (1, 1)).astype(np.float32))
    assert onednn.cache_size() == 3


@needs_onednn
def test_a_filter_updated_in_place_is_reordered_again(rng, split):
    # Large enough for the filter cache (FilterCache.MIN_BYTES): the cached reorder must
    # not outlive an in-place update of the same array (what an optimizer step does).
    x = rng.standard_normal((2, 6, 6, 128)).astype(np.float32)
    w = rng.standard_normal((3, 3, 128, 64)).astype(np.float32)
    assert w.nbytes >= onednn.FilterCache.MIN_BYTES
    first = onednn.conv2d(x, w, (1, 1), "SAME", (1, 1))
    _close(onednn.conv2d(x, w, (1, 1), "SAME", (1, 1)), first)       # served from the cache
    w -= 0.5
    ref = K.conv2d(x.astype(np.float64), w.astype(np.float64), (1, 1), "SAME", (1, 1))
    _close(onednn.conv2d(x, w, (1, 1), "SAME", (1, 1)), ref.astype(np.float32))


@needs_onednn
@pytest.mark.parametrize("threads", ["1", "2"])
def test_openmp_thread_counts_give_the_same_values(threads, rng, monkeypatch):
    x, w, s, p, d = _arrays(CASES[1], rng)
    want = onednn.conv2d(x, w, s, p, d)
    monkeypatch.setenv("TAPEFLOW_ONEDNN_THREADS", threads)
    _close(onednn.conv2d(x, w, s, p, d), want)



@needs_onednn
def test_thread_count_is_set_again_after_numba_changed_it():
    # numba's set_num_threads writes the same per-thread OpenMP value; a remembered
    # setting let primitives be created (and run) with numba's count inside pool blocks.
    import ctypes
    from tapeflow.backend import jit
    if jit.kernels() is None:
        pytest.skip("numba is not installed")
    gomp = ctypes.CDLL("libgomp.so.1")
    gomp.omp_get_max_threads.restype = ctypes.c_int
    lib = dnnl_lib.load()
    before = jit._state["threads"]
    lib.set_threads(1)
    jit.set_num_threads(2)
    try:
        lib.set_threads(1)
        assert gomp.omp_get_max_threads() == 1
    finally:
        jit.set_num_threads(before or blas._NCPU)

# -- matmul ------------------------------------------------------------------------------

@needs_onednn
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_reads_transposed_views_in_place(ta, tb, rng):
    a = rng.standard_normal((300, 70)).astype(np.float32)
    b = rng.standard_normal((70, 50)).astype(np.float32)
    av = np.ascontiguousarray(a.T).T if ta else a
    bv = np.ascontiguousarray(b.T).T if tb else b
    assert onednn.matmul_ok(av, bv)
    _close(onednn.matmul(av, bv), (a.astype(np.float64) @ b).astype(np.float32))


@needs_onednn
def test_matmul_rejects_what_it_cannot_take(rng):
    a = rng.standard_normal((8, 4)).astype(np.float32)
    assert not onednn.matmul_ok(a[::-1], a.T)                       # negative stride
    assert not onednn.matmul_ok(a.astype(np.float64), a.T.astype(np.float64))
    assert not onednn.matmul_ok(a[None], a.T)                       # 3-D
    assert not onednn.matmul_ok(a[:, ::2], a[:4])                   # no contiguous axis
    out = np.empty((4, 8), np.float32)
    assert not onednn.matmul_ok(a.T, a, out=out.T)                  # column-major result
    assert onednn.matmul_ok(a.T, a, out=np.empty((4, 4), np.float32))


@needs_onednn
def test_reference_kernels_count_as_unsupported(rng, monkeypatch):
    # oneDNN's reference implementations are far slower than NumPy: the caller falls back.
    x, w, s, p, d = _arrays(CASES[2], rng)
    monkeypatch.setattr(onednn, "_cache", {})
    real_init = onednn.Primitive.__init__

    def init(self, *args):
        real_init(self, *args)
        self.impl = "ref:any"
    monkeypatch.setattr(onednn.Primitive, "__init__", init)
    assert onednn.conv2d(x, w, s, p, d) is None
    _close(K.conv2d(x, w, s, p, d), _numpy(monkeypatch, K.conv2d, x, w, s, p, d))


@pytest.mark.parametrize("mode", ["onednn", "numpy"])
def test_large_products_through_the_pool_match_float64(mode, rng, monkeypatch, split):
    if mode == "numpy":
        monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    elif not onednn.available():
        pytest.skip("oneDNN is not installed")
    h = rng.standard_normal((16, 4096)).astype(np.float32)
    w = rng.standard_normal((4096, 256)).astype(np.float32)
    for a, b in ((h, w), (h.T.copy().T, w), (h[:, :256], w[:256].T)):
        _close(blas.matmul(a, b), (a.astype(np.float64) @ b).astype(np.float32))


# -- through the ops: values and gradients against TensorFlow and the NumPy path ----------

def _conv_net(m, x, w1, w2):
    h = m.nn.relu(m.nn.conv2d(x, w1, 1, "VALID"))
    return m.reduce_sum(m.nn.conv2d(h, w2, 2, "SAME") ** 2)


def test_conv_gradients_match_tensorflow(real_tf, rng):
    x = rng.standard_normal((3, 12, 12, 2)).astype(np.float32)
    w1 = rng.standard_normal((3, 3, 2, 16)).astype(np.float32)
    w2 = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)
    tf_parity.check(_conv_net, [x, w1, w2], rtol=1e-4, atol=1e-3, real_tf=real_tf)


def _tape_grads(x, w1, w2):
    x, w1, w2 = tf.constant(x), tf.Variable(w1), tf.Variable(w2)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = _conv_net(tf, x, w1, w2)
    return [y.numpy()] + [g.numpy() for g in tape.gradient(y, [x, w1, w2])]


@needs_onednn
def test_conv_gradients_match_the_numpy_path(rng, monkeypatch):
    args = (rng.standard_normal((3, 12, 12, 2)).astype(np.float32),
            rng.standard_normal((3, 3, 2, 16)).astype(np.float32),
            rng.standard_normal((3, 3, 16, 8)).astype(np.float32))
    got = _tape_grads(*args)
    want = _numpy(monkeypatch, _tape_grads, *args)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-3 * np.abs(r).max())


def test_dense_gradients_match_tensorflow(real_tf, rng):
    # Large enough (>= blas.MIN_FLOPS) for the pooled oneDNN products.
    x = rng.standard_normal((32, 2048)).astype(np.float32)
    w = rng.standard_normal((2048, 128)).astype(np.float32)
    tf_parity.check(lambda m, x, w: m.reduce_sum(m.nn.relu(m.matmul(x, w)) ** 2), [x, w],
                    rtol=1e-4, atol=1e-2, real_tf=real_tf)


def test_thread_settings_follow_the_environment(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ONEDNN_THREADS", "3")
    assert onednn._threads() == (3, False)
    monkeypatch.delenv("TAPEFLOW_ONEDNN_THREADS")
    monkeypatch.setattr(blas, "pool_size", lambda: 2)
    assert onednn._threads() == (1, True)            # blocks on the pool, one thread each
    monkeypatch.setattr(blas, "pool_size", lambda: 1)
    monkeypatch.setenv("TAPEFLOW_BLAS_THREADS", "2")
    assert onednn._threads() == (2, False)           # the intra-op thread count, no pool


@pytest.mark.parametrize("mode", ["onednn", "numpy"])
def test_fused_plan_entry_points_match_the_separate_ops(mode, rng, monkeypatch):
    if mode == "numpy":
        monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    elif not onednn.available():
        pytest.skip("oneDNN is not installed")
    x, w, s, p, d = _arrays(CASES[1], rng)
    b = rng.standard_normal(w.shape[3]).astype(np.float32)
    ref = K.conv2d(x.astype(np.float64), w.astype(np.float64), s, p, d) + b
    _close(onednn.conv2d_bias_relu(x, w, b, s, p, d), np.maximum(ref, 0).astype(np.float32))
    _close(onednn.conv2d_bias_relu(x, w, b, s, p, d, relu=False), ref.astype(np.float32))
    dy = rng.standard_normal(ref.shape).astype(np.float32)
    dw, db = onednn.conv2d_backprop_filter_and_bias(x, w.shape, dy, s, p, d)
    dw64 = K.conv2d_backprop_filter(x.astype(np.float64), w.shape, dy.astype(np.float64), s, p, d)
    _close(dw, dw64.astype(np.float32))
    _close(db, dy.astype(np.float64).sum(axis=(0, 1, 2)).astype(np.float32))


@needs_onednn
def test_conv_gradients_check_to_second_order_on_onednn(rng, monkeypatch):
    # float32 inputs take the oneDNN kernels for the op and for every gradient op.
    from tapeflow.testing import check_gradients
    monkeypatch.setattr(onednn, "_cache", {})
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    check_gradients(lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [x, w], order=2)
    kinds = {key[0] for key in onednn._cache}
    assert {"fwd", "bwd_data", "bwd_weights"} <= kinds
