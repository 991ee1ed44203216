"""tapeflow/backend/conv.py: convolution kernels against direct loops and their adjoints.

The convolution tests run twice: on the NumPy kernels (TAPEFLOW_ONEDNN=0) and through
the oneDNN dispatch where oneDNN is installed (tests/backend/test_onednn.py has the rest).
"""

import numpy as np
import pytest

from tapeflow.backend import blas
from tapeflow.backend import conv as K


@pytest.fixture(autouse=True, params=["whole", "blocks"])
def split(request, monkeypatch):
    """Runs each test on whole arrays and split into blocks of images over the pool."""
    if request.param == "blocks":
        monkeypatch.setattr(blas, "MIN_FLOPS", 0)
        monkeypatch.setattr(blas, "pool_size", lambda: 2)
    return request.param


@pytest.fixture(params=["numpy", "onednn"])
def kernels(request, monkeypatch):
    """The NumPy kernels, or the oneDNN dispatch (skipped where oneDNN is missing)."""
    from tapeflow.backend import onednn
    if request.param == "numpy":
        monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")
    elif not onednn.available():
        pytest.skip("oneDNN is not installed")
    return request.param


@pytest.fixture
def numpy_kernels(monkeypatch):
    """Patches are kept by the NumPy path only (oneDNN's filter gradient needs none)."""
    monkeypatch.setenv("TAPEFLOW_ONEDNN", "0")


# (x shape, filter shape, strides, padding, dilations); C >= 8 takes the strided-view im2col.
CASES = [
    ((2, 7, 6, 1), (3, 3, 1, 4), (1, 1), "VALID", (1, 1)),
    ((2, 7, 6, 9), (3, 3, 9, 5), (1, 1), "VALID", (1, 1)),
    ((1, 8, 7, 8), (3, 2, 8, 3), (2, 1), "SAME", (1, 1)),
    ((2, 9, 9, 12), (3, 3, 12, 2), (1, 2), "VALID", (2, 1)),
    ((1, 6, 6, 10), (2, 3, 10, 4), (1, 1), ((1, 0), (2, 1)), (1, 1)),
    ((1, 6, 5, 3), (3, 3, 3, 2), (2, 2), "SAME", (1, 1)),
]


def _direct_conv(x, w, strides, padding, dilations):
    """A plain loop over output pixels and taps, in float64."""
    kh, kw, _, co = w.shape
    pads, oh, ow = K.conv_geometry(x.shape, (kh, kw), strides, padding, dilations)
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    out = np.zeros((x.shape[0], oh, ow, co))
    for a in range(oh):
        for b in range(ow):
            for i in range(kh):
                for j in range(kw):
                    px = xp[:, a * strides[0] + i * dilations[0], b * strides[1] + j * dilations[1]]
                    out[:, a, b] += px @ w[i, j]
    return out


def _case_arrays(case, rng):
    xs, ws, strides, padding, dil = case
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    return x, w, strides, padding, dil


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_matches_direct_loop(case, rng, kernels):
    x, w, s, p, d = _case_arrays(case, rng)
    got = K.conv2d(x, w, s, p, d)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _direct_conv(x, w, s, p, d), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_im2col_rows_are_the_windows(case, rng):
    x, w, s, p, d = _case_arrays(case, rng)
    kh, kw = w.shape[:2]
    cols = K.im2col(x, kh, kw, s, p, d)
    pads, oh, ow = K.conv_geometry(x.shape, (kh, kw), s, p, d)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    for a, b in [(0, 0), (oh - 1, ow - 1), (oh // 2, ow - 1)]:
        want = xp[:, a * s[0]: a * s[0] + (kh - 1) * d[0] + 1: d[0],
                  b * s[1]: b * s[1] + (kw - 1) * d[1] + 1: d[1], :]
        np.testing.assert_array_equal(cols[:, a, b], want)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_col2im_is_the_adjoint_of_im2col(case, rng):
    x, w, s, p, d = _case_arrays(case, rng)
    kh, kw = w.shape[:2]
    cols = K.im2col(x, kh, kw, s, p, d)
    c = rng.standard_normal(cols.shape).astype(np.float32)
    back = K.col2im(c, x.shape, s, p, d)
    assert back.shape == x.shape
    lhs = np.sum(cols.astype(np.float64) * c)
    rhs = np.sum(x.astype(np.float64) * back)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_backprops_are_the_adjoints_of_conv2d(case, rng, kernels):
    # <conv(x, w), dy> = <x, bp_input(dy)> = <w, bp_filter(dy)>
    x, w, s, p, d = _case_arrays(case, rng)
    y = _direct_conv(x, w, s, p, d)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = K.conv2d_backprop_input(x.shape, w, dy, s, p, d)
    dw = K.conv2d_backprop_filter(x, w.shape, dy, s, p, d)
    assert dx.shape == x.shape and dw.shape == w.shape
    assert dx.dtype == dw.dtype == np.float32
    inner = np.sum(y * dy)
    np.testing.assert_allclose(np.sum(x.astype(np.float64) * dx), inner, rtol=1e-4)
    np.testing.assert_allclose(np.sum(w.astype(np.float64) * dw), inner, rtol=1e-4)


def test_kept_patches_serve_the_filter_backprop(rng, numpy_kernels):
    x, w, s, p, d = _case_arrays(CASES[1], rng)
    y, patches = K.conv2d(x, w, s, p, d, keep_patches=True)
    np.testing.assert_array_equal(y, K.conv2d(x, w, s, p, d))
    np.testing.assert_array_equal(patches, K.im2col(x, w.shape[0], w.shape[1], s, p, d))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    kept = K.conv2d_backprop_filter(x, w.shape, dy, s, p, d, patches)
    fresh = K.conv2d_backprop_filter(x, w.shape, dy, s, p, d)
    np.testing.assert_allclose(kept, fresh, rtol=1e-5, atol=1e-5)


# -- pooling: windows that tile (stride == window, VALID), odd sizes cropped ---------------

@pytest.mark.parametrize("shape,k", [((2, 30, 30, 3), (2, 2)), ((2, 13, 13, 4), (2, 2)),
                                     ((1, 9, 7, 2), (3, 2))], ids=str)
def test_tiled_pooling_matches_the_window_path(shape, k, rng):
    x = rng.integers(0, 3, shape).astype(np.float32)
    windows = K._windows(x, k, k, "VALID", 0)
    np.testing.assert_array_equal(K.max_pool(x, k, k, "VALID"), windows.max(axis=-1))
    np.testing.assert_allclose(K.avg_pool(x, k, k, "VALID"), windows.mean(axis=-1), rtol=1e-6)


def test_max_pool_grad_sends_each_window_to_one_first_maximum(rng):
    x = rng.integers(0, 3, (2, 13, 13, 4)).astype(np.float32)     # many ties
    dy = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    got = K.max_pool_grad(x, dy, (2, 2), (2, 2), "VALID")
    np.testing.assert_allclose(got.sum(), dy.sum(), rtol=1e-5)
    assert np.all(got[:, 12, :, :] == 0) and np.all(got[:, :, 12, :] == 0)   # cropped
    first = x[0, 0:2, 0:2, 0].reshape(-1).argmax()
    assert got[0, first // 2, first % 2, 0] == dy[0, 0, 0, 0]


def test_max_pool_grad_keeps_inf_off_the_other_taps():
    x = np.array([[1.0, 3.0], [2.0, 0.0]], np.float32).reshape(1, 2, 2, 1)
    dy = np.full((1, 1, 1, 1), np.inf, np.float32)
    got = K.max_pool_grad(x, dy, (2, 2), (2, 2), "VALID")
    np.testing.assert_array_equal(got[0, :, :, 0], [[0, np.inf], [0, 0]])


def test_max_pool_grad_with_nan_routes_to_the_first_nan():
    x = np.array([[1.0, np.nan], [np.nan, 0.0]], np.float32).reshape(1, 2, 2, 1)
    got = K.max_pool_grad(x, np.ones((1, 1, 1, 1), np.float32), (2, 2), (2, 2), "VALID")
    np.testing.assert_array_equal(got[0, :, :, 0], [[0, 1], [0, 0]])


def test_filter_backprop_ignores_patches_of_another_shape(rng):
    # A forward kernel that keeps no patches may hand over an empty array instead.
    x, w, s, p, d = _case_arrays(CASES[1], rng)
    y = K.conv2d(x, w, s, p, d)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(
        K.conv2d_backprop_filter(x, w.shape, dy, s, p, d, np.empty(0, np.float32)),
        K.conv2d_backprop_filter(x, w.shape, dy, s, p, d))
