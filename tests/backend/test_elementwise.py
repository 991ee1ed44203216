"""tapeflow/backend/elementwise.py: ReLU and its gradient split over the kernel pool give
NumPy's single-call results bit for bit, in place or not, whatever the layout."""
import numpy as np
import pytest

from tapeflow.backend import blas, elementwise


@pytest.fixture(autouse=True)
def quiet_nan():
    with np.errstate(invalid="ignore"):      # the reference NumPy calls' NaN * 0
        yield


@pytest.fixture
def pooled(monkeypatch):
    """A small split threshold, so that the test arrays are split over the pool."""
    if blas.pool_size() < 2:
        pytest.skip("one core, or no OpenBLAS this process can control: no pool")
    monkeypatch.setattr(elementwise, "MIN_ELEMENTS", 64)
    calls = []
    real = blas.parallel
    monkeypatch.setattr(blas, "parallel", lambda tasks: (calls.append(len(tasks)), real(tasks)))
    return calls


def _pair(rng, shape, layout):
    dy = rng.normal(size=shape).astype(np.float32)
    y = np.maximum(rng.normal(size=shape), 0).astype(np.float32)
    y.flat[::7] = 0.0
    dy.flat[5] = np.nan                 # where y may be 0: NaN * 0 is NaN, as TF's kernel
    dy.flat[7] = np.inf
    if layout == "transposed":
        return dy.T, y.T
    if layout == "sliced":
        return dy[:, ::2], y[:, ::2]
    return dy, y


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_relu_grad_equals_numpy(pooled, rng, layout):
    dy, y = _pair(rng, (40, 30), layout)
    want = np.multiply(dy, y > 0)
    got = elementwise.relu_grad(dy, y)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype and pooled == [4]


def test_relu_grad_in_place(pooled, rng):
    dy, y = _pair(rng, (40, 30), "contiguous")
    want = np.multiply(dy, y > 0)
    out = elementwise.relu_grad(dy, y, out=dy)
    assert out is dy
    np.testing.assert_array_equal(dy, want)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_relu_equals_numpy_and_keeps_nan(pooled, rng, layout):
    x, _ = _pair(rng, (64, 20), layout)
    want = np.maximum(x, np.float32(0))
    got = elementwise.relu(x)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got).sum() == 1
    elementwise.relu(x, out=x)
    np.testing.assert_array_equal(x, want)


def test_small_arrays_and_a_single_thread_are_one_numpy_call(rng, monkeypatch):
    calls = []
    monkeypatch.setattr(blas, "parallel", calls.append)
    dy, y = _pair(rng, (8, 8), "contiguous")
    np.testing.assert_array_equal(elementwise.relu_grad(dy, y), np.multiply(dy, y > 0))
    monkeypatch.setattr(blas, "pool_size", lambda: 1)
    monkeypatch.setattr(elementwise, "MIN_ELEMENTS", 1)
    np.testing.assert_array_equal(elementwise.relu(y), np.maximum(y, 0))
    assert calls == []


def test_mismatched_shapes_broadcast_as_numpy(pooled, rng):
    dy, y = rng.normal(size=(50, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)
    np.testing.assert_array_equal(elementwise.relu_grad(dy, y), np.multiply(dy, y > 0))
    assert pooled == []
