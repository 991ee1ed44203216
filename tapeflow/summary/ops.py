"""`tf.summary.scalar/histogram/image/text/write`: summaries as TensorBoard's plugins store them.

Each summary is written the TF 2 way, as a tensor with its plugin's metadata: a float32
scalar ("scalars"), a float64 `[k, 3]` table of bucket edges and counts ("histograms"),
a string vector `[width, height, png, ...]` ("images"), a string tensor ("text").
Eagerly a summary is written at once; inside a traced function it is a stateful op that
writes each time the function runs, with the writer that was the default when tracing.
"""
from __future__ import annotations

import io

import numpy as np

from tapeflow.framework.context import current_scope, state
from tapeflow.framework.op import NO_GRADIENT, OpDef, as_input, convert_to_tensor, execute
from tapeflow.framework.tensor import Tensor
from tapeflow.summary import writer as writer_mod

DEFAULT_BUCKET_COUNT = 30


def _tensor_proto(array):
    from tensorboard.util import tensor_util
    return tensor_util.make_tensor_proto(array)


def _write_kernel(data, step, writer, tag, make):
    if not _recording(writer):
        return ()
    value = make(tag, np.asarray(data))
    writer.add_summary(value, int(np.asarray(step)))
    return ()


def _recording(writer) -> bool:
    cond = writer_mod._state.record[-1]
    if callable(cond):
        cond = cond()
    if isinstance(cond, Tensor) or getattr(cond, "_is_variable", False):
        cond = cond.numpy()
    return bool(cond) and not isinstance(writer, writer_mod._NoopWriter)


_WRITE = OpDef("WriteSummary", _write_kernel, NO_GRADIENT, num_outputs=0,
               shape_fn=lambda inputs, attrs: [], stateful=True)


def _tag(name) -> str:
    scope = current_scope()
    return f"{scope}/{name}" if scope else name


def _emit(name, data, step, make) -> bool:
    writer = writer_mod.default_writer()
    if writer is None:
        return False
    step = writer_mod.resolve_step(step)
    step_t = step if not isinstance(step, int) else Tensor(np.asarray(step, np.int64))
    if not writer_mod.should_record_summaries() and state.graph is None:
        return False
    attrs = {"writer": writer, "tag": _tag(name), "make": make}
    if state.graph is None and not getattr(data, "_is_symbolic", False):
        step_v = step_t.numpy() if hasattr(step_t, "numpy") else step_t
        _write_kernel(np.asarray(data._value if hasattr(data, "_value") else data), step_v,
                      **attrs)
    else:
        execute(_WRITE, (data, step_t), attrs)
    return True


def _value(tag, metadata, array):
    from tensorboard.compat.proto import summary_pb2
    return summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=_tensor_proto(array))


def scalar(name, data, step=None, description=None) -> bool:
    """Writes a scalar; returns True when written, False without a default writer."""
    from tensorboard.plugins.scalar import metadata
    meta = metadata.create_summary_metadata(display_name=None, description=description)
    x = as_input(data)
    if x.shape.rank not in (0, None):
        raise ValueError(f"tf.summary.scalar: data must be a scalar; got shape {x.shape}.")

    def make(tag, array):
        return _value(tag, meta, np.asarray(array, np.float32))
    return _emit(name, x, step, make)


def histogram_buckets(values, buckets=DEFAULT_BUCKET_COUNT):
    """`[k, 3]` float64 rows (left edge, right edge, count), as TensorBoard draws them."""
    data = np.asarray(values, np.float64).reshape(-1)
    if buckets <= 0:
        return np.zeros((0, 3))
    if data.size == 0:
        return np.zeros((buckets, 3))
    lo, hi = data.min(), data.max()
    if lo == hi:
        # One value: every bucket is that point; the count sits in the last one.
        out = np.zeros((buckets, 3))
        out[:, 0], out[:, 1] = lo, hi
        out[-1, 2] = data.size
        return out
    width = (hi - lo) / buckets
    index = np.minimum(np.floor((data - lo) / width).astype(np.int64), buckets - 1)
    counts = np.bincount(index, minlength=buckets).astype(np.float64)
    edges = lo + width * np.arange(buckets + 1)
    edges[-1] = hi
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def histogram(name, data, step=None, buckets=None, description=None) -> bool:
    """Writes a histogram of `data` (any shape) in `buckets` (default 30) equal buckets."""
    from tensorboard.plugins.histogram import metadata
    meta = metadata.create_summary_metadata(display_name=None, description=description)
    n = DEFAULT_BUCKET_COUNT if buckets is None else int(buckets)

    def make(tag, array):
        return _value(tag, meta, histogram_buckets(array, n))
    return _emit(name, as_input(data), step, make)


def encode_png(image) -> bytes:
    """PNG bytes of an `[h, w, c]` uint8 array (c = 1, 3 or 4), with Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Writing PNG images needs Pillow (installed with matplotlib): "
                          "pip install pillow") from None
    arr = np.asarray(image)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if mode == "L" else arr).save(buf, format="PNG")
    return buf.getvalue()


def _to_uint8(images):
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind == "f":
        return np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
    return np.clip(images, 0, 255).astype(np.uint8)


def image(name, data, step=None, max_outputs=3, description=None) -> bool:
    """Writes up to `max_outputs` images of `data`, `[k, h, w, c]` (floats in [0, 1] or
    uint8; c = 1, 3 or 4)."""
    from tensorboard.plugins.image import metadata
    x = as_input(data)
    if x.shape.rank not in (4, None):
        raise ValueError(f"tf.summary.image: data must have rank 4 [k, h, w, c]; got shape "
                         f"{x.shape}.")
    meta = metadata.create_summary_metadata(display_name=None, description=description)

    def make(tag, array):
        imgs = _to_uint8(array[:max_outputs])
        h, w = array.shape[1], array.shape[2]
        parts = [str(w).encode(), str(h).encode()] + [encode_png(i) for i in imgs]
        return _value(tag, meta, np.array(parts, dtype=object))
    return _emit(name, x, step, make)


def text(name, data, step=None, description=None) -> bool:
    """Writes a string tensor (Markdown, shown by TensorBoard's text dashboard)."""
    from tensorboard.plugins.text import metadata
    meta = metadata.create_summary_metadata(display_name=None, description=description)
    arr = np.asarray(data.numpy() if isinstance(data, Tensor) else data, dtype=object)
    values = np.vectorize(lambda s: s if isinstance(s, bytes) else str(s).encode(),
                          otypes=[object])(arr) if arr.size else arr

    def make(tag, _array):
        return _value(tag, meta, values)
    return _emit(name, Tensor(np.zeros((), np.float32)), step, make)


def write(tag, tensor, step=None, metadata=None, name=None) -> bool:
    """Writes `tensor` under `tag` with optional `SummaryMetadata` (or its bytes)."""
    from tensorboard.compat.proto import summary_pb2
    meta = metadata
    if isinstance(metadata, bytes):
        meta = summary_pb2.SummaryMetadata.FromString(metadata)
    meta = meta or summary_pb2.SummaryMetadata()

    def make(full_tag, array):
        return _value(full_tag, meta, array)
    if isinstance(tensor, (str, bytes)):
        return text(tag, tensor, step)
    x = convert_to_tensor(tensor) if not isinstance(tensor, Tensor) else tensor
    return _emit(tag, x, step, make)
