"""Convolution and pooling kernels (NHWC, like TF).

Convolution is patches times a weight matrix: the input's kh*kw shifted,
strided views are copied into one (N*Ho*Wo, kh*kw*C) matrix (im2col) and
multiplied by the (kh*kw*C, O) filter through BLAS. The input gradient is the
transpose: one matrix product, then the kh*kw slices are added back into
place (col2im, a strided scatter-add).
"""
from __future__ import annotations

import numpy as np


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


def im2col(x, kh, kw, strides, padding, dilations):
    """Patches of x: (N, Ho, Wo, kh, kw, C), C fastest (matches an HWIO filter)."""
    pads, oh, ow = conv_geometry(x.shape, (kh, kw), strides, padding, dilations)
    xp = _pad(x, pads)
    n, _, _, c = x.shape
    sh, sw = strides
    dh, dw = dilations
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = xp[:, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                                        j * dw: j * dw + sw * (ow - 1) + 1: sw, :]
    return cols


def col2im(cols, x_shape, strides, padding, dilations):
    """Adjoint of im2col: adds each patch element back to where it was copied from."""
    n, oh, ow, kh, kw, c = cols.shape
    pads, _, _ = conv_geometry(x_shape, (kh, kw), strides, padding, dilations)
    (pt, pb), (pl, pr) = pads
    h, w = x_shape[1], x_shape[2]
    out = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=cols.dtype)
    sh, sw = strides
    dh, dw = dilations
    for i in range(kh):
        for j in range(kw):
            out[:, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                j * dw: j * dw + sw * (ow - 1) + 1: sw, :] += cols[:, :, :, i, j, :]
    return out[:, pt: pt + h, pl: pl + w, :]


def conv2d(x, w, strides, padding, dilations):
    kh, kw, ci, co = w.shape
    if x.shape[3] != ci:
        raise ValueError(f"input depth {x.shape[3]} does not match the filter's input depth {ci}")
    cols = im2col(x, kh, kw, strides, padding, dilations)
    n, oh, ow = cols.shape[:3]
    out = cols.reshape(n * oh * ow, kh * kw * ci) @ w.reshape(kh * kw * ci, co)
    return out.reshape(n, oh, ow, co)


def conv2d_backprop_input(x_shape, w, dy, strides, padding, dilations):
    kh, kw, ci, co = w.shape
    n, oh, ow, _ = dy.shape
    dcols = dy.reshape(n * oh * ow, co) @ w.reshape(kh * kw * ci, co).T
    return col2im(dcols.reshape(n, oh, ow, kh, kw, ci), x_shape, strides, padding, dilations)


def conv2d_backprop_filter(x, w_shape, dy, strides, padding, dilations):
    kh, kw, ci, co = w_shape
    cols = im2col(x, kh, kw, strides, padding, dilations)
    n, oh, ow = cols.shape[:3]
    dw = cols.reshape(n * oh * ow, kh * kw * ci).T @ dy.reshape(n * oh * ow, co)
    return dw.reshape(kh, kw, ci, co)


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
            win[..., i * kw + j] = xp[:, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw, :]
    return win


def _tiles(x, ksize, strides, padding):
    """True when windows tile the input exactly: pooling is then a reshape."""
    kh, kw = ksize
    return (padding == "VALID" and tuple(strides) == (kh, kw)
            and x.shape[1] % kh == 0 and x.shape[2] % kw == 0)


def max_pool(x, ksize, strides, padding):
    kh, kw = ksize
    if _tiles(x, ksize, strides, padding):
        n, h, w, c = x.shape
        return x.reshape(n, h // kh, kh, w // kw, kw, c).max(axis=(2, 4))
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
    if _tiles(x, ksize, strides, padding):
        n, h, w, c = x.shape
        return x.reshape(n, h // kh, kh, w // kw, kw, c).mean(axis=(2, 4), dtype=x.dtype)
    # SAME padding: the mean is over the window's cells inside the input only (as TF).
    return _windows(x, ksize, strides, padding, 0).sum(axis=-1) / _avg_counts(
        x.shape, ksize, strides, padding, x.dtype)


def avg_pool_grad(x_shape, dy, ksize, strides, padding):
    kh, kw = ksize
    g = dy / _avg_counts(x_shape, ksize, strides, padding, dy.dtype)
    cols = np.broadcast_to(g[:, :, :, None, None, :], g.shape[:3] + (kh, kw) + g.shape[3:])
    return col2im(np.ascontiguousarray(cols), x_shape, strides, padding, (1, 1))
