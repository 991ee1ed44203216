"""Convolution and pooling kernels (NHWC, like TF).

Convolution is patches times a weight matrix: the input's kh*kw shifted,
strided windows are copied into one (N*Ho*Wo, kh*kw*C) matrix (im2col) and
multiplied by the (kh*kw*C, O) filter through BLAS. Its two backprops:

* filter: patches^T @ dy. The patches are the forward's own: `conv2d` can
  return them (`keep_patches=True`) and the filter backprop take them
  (`patches=`), so the backward pass does not copy the input again. (The op
  layer makes them a residual output of the Conv2D op: see ops/conv_ops.py.)
* input: one (N*Ho*Wo, O) @ (O, C) product per filter tap, each added into
  its shifted window of the input gradient. Per tap, the product's rows and
  the window's rows are both runs of Wo*C contiguous floats, so each add is a
  few thousand long strided runs; the single-product form (dy @ W^T, then a
  col2im scatter of C-float runs out of a (N*Ho*Wo, kh*kw*C) matrix) costs
  more than twice as much in the adds and writes a matrix kh*kw times the
  input's size.

All three run by blocks of images on tapeflow's pool (`blas.parallel`): each
block copies its own patches and multiplies them while they are in cache,
so the copies and adds use both cores too, and a thread the machine
deschedules delays only its block. Numbers: docs/performance.md.

Shapes: x (N, H, W, C), filters (kh, kw, C, O), dy (N, Ho, Wo, O).

Example:
    >>> import numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> conv2d(x, np.ones((2, 2, 1, 1), np.float32), (1, 1), "VALID", (1, 1))[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]], dtype=float32)
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tapeflow.backend import blas, onednn

# Inner stages the profiler (bench/profile_step.py) times separately (summed
# over the pool's threads when they run in blocks).
PROFILED = ("_fill_cols", "gemm")


def gemm(a, b, out=None):
    """A whole-array product (split over the pool by blas.matmul when large)."""
    return blas.matmul(a, b, out=out)


def same_padding(size, k, stride, dilation):
    """TF's 'SAME': output ceil(size/stride); extra padding goes after (bottom/right)."""
    eff = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def conv_geometry(x_shape, k_shape, strides, padding, dilations):
    """(pads, out_h, out_w) for an NHWC input and HW.. window."""
    _, h, w, _ = x_shape
    kh, kw = k_shape
    sh, sw = strides
    dh, dw = dilations
    if padding == "SAME":
        ph = same_padding(h, kh, sh, dh)
        pw = same_padding(w, kw, sw, dw)
    elif padding == "VALID":
        ph = pw = (0, 0)
    else:
        ph, pw = tuple(padding[0]), tuple(padding[1])
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    oh = (h + ph[0] + ph[1] - eh) // sh + 1
    ow = (w + pw[0] + pw[1] - ew) // sw + 1
    return (ph, pw), oh, ow


def _pad(x, pads, value=0.0):
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


# Below this many channels the per-tap slice copies win: the strided view's
# innermost contiguous run is kw*C floats, too short to beat 9 plain copies.
_STRIDED_MIN_C = 8


def window_view(xp, kh, kw, oh, ow, strides, dilations):
    """A read-only (N, Ho, Wo, kh, kw, C) view of the padded input's windows (no copy)."""
    sn, s_h, s_w, sc = xp.strides
    sh, sw = strides
    dh, dw = dilations
    return as_strided(xp, (xp.shape[0], oh, ow, kh, kw, xp.shape[3]),
                      (sn, s_h * sh, s_w * sw, s_h * dh, s_w * dw, sc), writeable=False)


def im2col(x, kh, kw, strides, padding, dilations):
    """Patches of x: (N, Ho, Wo, kh, kw, C), C fastest (matches an HWIO filter).

    With C >= 8 one copy out of `window_view`: NumPy coalesces (kw, C) into
    runs of kw*C contiguous floats (a third as many inner loops as copying
    tap by tap, measured 2.5x faster on 24x24x32 windows). With few channels
    (the first layer's C=1) the tap-by-tap copy, whose inner runs are Wo
    elements long, is faster.
    """
    pads, oh, ow = conv_geometry(x.shape, (kh, kw), strides, padding, dilations)
    n, _, _, c = x.shape
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    _fill_cols(_pad(x, pads), cols, strides, dilations)
    return cols


def _fill_cols(xp, cols, strides, dilations):
    """Copies the windows of the padded input `xp` into `cols` (N, Ho, Wo, kh, kw, C)."""
    _, oh, ow, kh, kw, c = cols.shape
    if c >= _STRIDED_MIN_C:
        np.copyto(cols, window_view(xp, kh, kw, oh, ow, strides, dilations))
        return
    sh, sw = strides
    dh, dw = dilations
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = xp[:, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                                        j * dw: j * dw + sw * (ow - 1) + 1: sw, :]


# Output rows (pixels) per block of images: about 4 of the seed CNN's 24x24
# images. Smaller blocks keep a block's patches and partial results in
# cache; measured at batch 128, blocks of 2-4 images against 32: -10-15%.
_BLOCK_ROWS = 2304


def _image_blocks(n, flops, rows_per_image):
    """Blocks of images for the pool (see blas.py), or None: too small, or one image."""
    size = blas.pool_size()
    if size < 2 or n < 2 or flops < blas.MIN_FLOPS:
        return None
    return blas.blocks(n, max(2 * size, -(-n * rows_per_image // _BLOCK_ROWS)))


def col2im(cols, x_shape, strides, padding, dilations):
    """Adjoint of im2col: adds each patch element back to where it was copied from.

    `cols` is (N, Ho, Wo, kh, kw, C) (the layout `im2col` returns).
    """
    return col2im_taps(cols.transpose(3, 4, 0, 1, 2, 5), x_shape, strides, padding, dilations)


def col2im_taps(taps, x_shape, strides, padding, dilations):
    """col2im of tap-major patches (kh, kw, N, Ho, Wo, C): one shifted add per tap."""
    kh, kw, n, oh, ow, c = taps.shape
    pads, _, _ = conv_geometry(x_shape, (kh, kw), strides, padding, dilations)
    (pt, pb), (pl, pr) = pads
    h, w = x_shape[1], x_shape[2]
    out = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=taps.dtype)
    sh, sw = strides
    dh, dw = dilations
    for i in range(kh):
        for j in range(kw):
            out[:, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                j * dw: j * dw + sw * (ow - 1) + 1: sw, :] += taps[i, j]
    return out[:, pt: pt + h, pl: pl + w, :]


def conv2d(x, w, strides, padding, dilations, keep_patches=False, epilogue=None):
    """NHWC convolution; with `keep_patches`, returns (output, patches) for the filter backprop.

    Blocks of images go to the pool (blas.py), each copying its own patches
    and multiplying them: the copies run on both cores too, and each block's
    patches are still in cache for its product. `epilogue(out)`, when given, is
    applied in place to each block's (rows, O) output right after its product,
    while it is in cache (a fused plan's bias and ReLU).
    """
    kh, kw, ci, co = w.shape
    if x.shape[3] != ci:
        raise ValueError(f"input depth {x.shape[3]} does not match the filter's input depth {ci}")
    if onednn.usable(x, w) and (y := onednn.conv2d(x, w, strides, padding, dilations)) is not None:
        # oneDNN's filter backprop reads the input itself: no patches to keep (an empty
        # residual, which conv2d_backprop_filter ignores).
        if epilogue is not None:
            epilogue(y)
        return (y, np.empty((0,), x.dtype)) if keep_patches else y
    pads, oh, ow = conv_geometry(x.shape, (kh, kw), strides, padding, dilations)
    n = x.shape[0]
    k = kh * kw * ci
    w2 = w.reshape(k, co)
    xp = _pad(x, pads)
    cols = np.empty((n, oh, ow, kh, kw, ci), dtype=x.dtype)
    out = np.empty((n * oh * ow, co), dtype=np.result_type(x, w))
    parts = _image_blocks(n, 2.0 * n * oh * ow * k * co, oh * ow)
    if parts is None:
        _fill_cols(xp, cols, strides, dilations)
        gemm(cols.reshape(-1, k), w2, out=out)
        if epilogue is not None:
            epilogue(out)
    else:
        r = oh * ow

        def block(i0, i1):
            _fill_cols(xp[i0:i1], cols[i0:i1], strides, dilations)
            np.matmul(cols[i0:i1].reshape(-1, k), w2, out=out[i0 * r: i1 * r])
            if epilogue is not None:
                epilogue(out[i0 * r: i1 * r])
        blas.parallel([lambda i0=i0, i1=i1: block(i0, i1) for i0, i1 in parts])
    if keep_patches:
        return out.reshape(n, oh, ow, co), cols
    return out.reshape(n, oh, ow, co)


def conv2d_backprop_input(x_shape, w, dy, strides, padding, dilations, epilogue=None):
    """The input gradient; `epilogue(dx[i0:i1], i0, i1)`, when given, runs on each finished
    block of images while it is in cache (the plan's fused ReLU gradient)."""
    if onednn.usable(w, dy) and (dx := onednn.conv2d_backprop_input(
            x_shape, w, dy, strides, padding, dilations, epilogue)) is not None:
        return dx
    kh, kw, ci, co = w.shape
    n, oh, ow, _ = dy.shape
    pads, _, _ = conv_geometry(x_shape, (kh, kw), strides, padding, dilations)
    (pt, pb), (pl, pr) = pads
    h, wd = x_shape[1], x_shape[2]
    dtype = np.result_type(dy, w)
    out = np.zeros((n, h + pt + pb, wd + pl + pr, ci), dtype=dtype)
    sh, sw = strides
    dh, dw = dilations

    def block(i0, i1):
        # One product per tap, (rows, O) @ (O, C) with W[i, j] read transposed
        # by BLAS (no copy), into one buffer reused across taps (it stays in
        # cache for the add that follows), then added into the tap's window.
        rows = (i1 - i0) * oh * ow
        dy2 = dy[i0:i1].reshape(rows, co)
        tap = np.empty((rows, ci), dtype=dtype)
        tap4 = tap.reshape(i1 - i0, oh, ow, ci)
        for i in range(kh):
            for j in range(kw):
                np.matmul(dy2, w[i, j].T, out=tap)
                out[i0:i1, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                    j * dw: j * dw + sw * (ow - 1) + 1: sw, :] += tap4
        if epilogue is not None:
            epilogue(out[i0:i1, pt: pt + h, pl: pl + wd, :], i0, i1)

    blas.tick()
    parts = _image_blocks(n, 2.0 * n * oh * ow * kh * kw * ci * co, oh * ow) or [(0, n)]
    blas.parallel([lambda i0=i0, i1=i1: block(i0, i1) for i0, i1 in parts])
    return out[:, pt: pt + h, pl: pl + wd, :]


def conv2d_backprop_filter(x, w_shape, dy, strides, padding, dilations, patches=None):
    """patches^T @ dy; `patches`: the forward's (`conv2d(..., keep_patches=True)`), if kept
    (anything else, such as an empty array from a kernel that keeps none, is ignored)."""
    if onednn.usable(x, dy) and (dw := onednn.conv2d_backprop_filter(
            x, w_shape, dy, strides, padding, dilations)) is not None:
        return dw
    kh, kw, ci, co = w_shape
    k = kh * kw * ci
    n, oh, ow = dy.shape[:3]
    cols = patches if getattr(patches, "shape", None) == (n, oh, ow, kh, kw, ci) else None
    parts = _image_blocks(n, 2.0 * n * oh * ow * k * co, oh * ow)
    if parts is None:
        if cols is None:
            cols = im2col(x, kh, kw, strides, padding, dilations)
        dw = gemm(cols.reshape(-1, k).T, dy.reshape(-1, co))
        return dw.reshape(kh, kw, ci, co)
    # Each block's share of the sum over rows, added at the end (len(parts) small matrices).
    xp = None if cols is not None else _pad(x, conv_geometry(x.shape, (kh, kw), strides, padding,
                                                             dilations)[0])
    part = np.empty((len(parts), k, co), dtype=np.result_type(x, dy))

    def block(t, i0, i1):
        if cols is None:
            c = np.empty((i1 - i0, oh, ow, kh, kw, ci), dtype=x.dtype)
            _fill_cols(xp[i0:i1], c, strides, dilations)
        else:
            c = cols[i0:i1]
        np.matmul(c.reshape(-1, k).T, dy[i0:i1].reshape(-1, co), out=part[t])
    blas.parallel([lambda t=t, i0=i0, i1=i1: block(t, i0, i1)
                   for t, (i0, i1) in enumerate(parts)])
    return part.sum(axis=0).reshape(kh, kw, ci, co)


# -- pooling -------------------------------------------------------------------

def _windows(x, ksize, strides, padding, fill):
    """Pooling windows: (N, Ho, Wo, C, kh*kw), with padding cells set to `fill`."""
    kh, kw = ksize
    pads, oh, ow = conv_geometry(x.shape, ksize, strides, padding, (1, 1))
    xp = _pad(x, pads, fill)
    sh, sw = strides
    n, _, _, c = x.shape
    win = np.empty((n, oh, ow, c, kh * kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            win[..., i * kw + j] = xp[:, i: i + sh * (oh - 1) + 1: sh,
                                      j: j + sw * (ow - 1) + 1: sw, :]
    return win


def _tile_view(a, kh, kw):
    """(N, Ho, kh, Wo, kw, C) view of `a` cropped to whole windows (VALID, stride == window).

    Splitting the H and W axes of a cropped slice is still a view, so this
    also serves odd sizes (13x13 pooled 2x2: the last row and column drop).
    """
    n, h, w, c = a.shape
    oh, ow = h // kh, w // kw
    return a[:, :oh * kh, :ow * kw].reshape(n, oh, kh, ow, kw, c)


def _tiled(ksize, strides, padding):
    """True when the windows tile the (cropped) input: pooling is then a reshape."""
    return padding == "VALID" and tuple(strides) == tuple(ksize)


def max_pool(x, ksize, strides, padding):
    kh, kw = ksize
    if _tiled(ksize, strides, padding):
        return _tile_view(x, kh, kw).max(axis=(2, 4))
    return _windows(x, ksize, strides, padding, -np.inf).max(axis=-1)


def _argmax_onehot(x, ksize, strides, padding):
    win = _windows(x, ksize, strides, padding, -np.inf)
    idx = win.argmax(axis=-1)
    return win.shape, idx


def max_pool_grad(x, dy, ksize, strides, padding):
    """Routes each output gradient to the first maximal element of its window (as TF)."""
    kh, kw = ksize
    wshape, idx = _argmax_onehot(x, ksize, strides, padding)
    n, oh, ow, c, _ = wshape
    pads, _, _ = conv_geometry(x.shape, ksize, strides, padding, (1, 1))
    (pt, pb), (pl, pr) = pads
    out = np.zeros((n, x.shape[1] + pt + pb, x.shape[2] + pl + pr, c), dtype=dy.dtype)
    sh, sw = strides
    for i in range(kh):
        for j in range(kw):
            sel = np.where(idx == i * kw + j, dy, 0)
            out[:, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw, :] += sel
    return out[:, pt: pt + x.shape[1], pl: pl + x.shape[2], :]


def max_pool_grad_grad(x, ddx, ksize, strides, padding):
    """Gradient of max_pool_grad w.r.t. dy: each window's value of ddx at its argmax."""
    _, idx = _argmax_onehot(x, ksize, strides, padding)
    win = _windows(ddx, ksize, strides, padding, 0)
    return np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]


def _avg_counts(x_shape, ksize, strides, padding, dtype):
    ones = np.ones((1, x_shape[1], x_shape[2], 1), dtype=dtype)
    return _windows(ones, ksize, strides, padding, 0).sum(axis=-1)


def avg_pool(x, ksize, strides, padding):
    kh, kw = ksize
    if _tiled(ksize, strides, padding):
        return _tile_view(x, kh, kw).mean(axis=(2, 4), dtype=x.dtype)
    # SAME padding: the mean is over the window's cells inside the input only (as TF).
    return _windows(x, ksize, strides, padding, 0).sum(axis=-1) / _avg_counts(
        x.shape, ksize, strides, padding, x.dtype)


def avg_pool_grad(x_shape, dy, ksize, strides, padding):
    kh, kw = ksize
    g = dy / _avg_counts(x_shape, ksize, strides, padding, dy.dtype)
    cols = np.broadcast_to(g[:, :, :, None, None, :], g.shape[:3] + (kh, kw) + g.shape[3:])
    return col2im(np.ascontiguousarray(cols), x_shape, strides, padding, (1, 1))
