"""Image codecs: `tf.io.decode_png`/`encode_png`, `decode_jpeg`/`encode_jpeg`,
`decode_gif`, `decode_bmp` and `decode_image`, on Pillow.

Pillow is imported lazily (tapeflow runs on NumPy alone; the error says how to
install it). Encoded images come in as a Python `bytes`, a NumPy bytes/object
scalar or a 0-d string tensor, and go out as a string tensor where tapeflow has
that dtype, else as `bytes`. Decoded images are uint8 (or uint16 for 16-bit
PNGs) tensors of shape [height, width, channels] ([frames, h, w, c] for GIFs).

    >>> import numpy as np
    >>> import tapeflow as tf
    >>> img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    >>> png = tf.io.encode_png(img)
    >>> tf.io.decode_png(png).numpy().tolist() == img.tolist()
    True
"""
from __future__ import annotations

import io
import zlib

import numpy as np

from tapeflow.framework import dtypes, errors
from tapeflow.framework.api_export import tf_export
from tapeflow.framework.tensor import Tensor
from tapeflow.ops import _png16

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_GIF_MAGIC = (b"GIF87a", b"GIF89a")
_BMP_MAGIC = b"BM"


def _pil():
    try:
        from PIL import Image
    except ImportError as e:   # pragma: no cover - Pillow is in the fast/test extras
        raise ImportError("tapeflow's image codecs need Pillow: pip install Pillow") from e
    return Image


def contents_bytes(contents, op_name: str) -> bytes:
    """The encoded bytes of `contents` (bytes, a NumPy bytes/object scalar, or a 0-d
    tensor whose value is bytes)."""
    value = contents
    if isinstance(value, Tensor) or hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise errors.op_error(op_name, f"contents must be scalar, got shape "
                                  f"{list(value.shape)}")
        value = value.item()
    if isinstance(value, np.bytes_):
        value = bytes(value)
    if isinstance(value, str):
        value = value.encode("latin-1")
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{op_name}: expected the encoded image as bytes or a 0-d string tensor, "
                        f"received {type(contents).__name__}")
    return bytes(value)


def _when_run(decode, contents, dtype, shape):
    """`decode` of a tensor that has no value yet (a string tensor while `Dataset.map`
    traces its function), run inside a `numpy_function` with the static `shape`
    (None: unknown rank)."""
    from tapeflow.framework.tensor import SymbolicTensor
    if not isinstance(contents, SymbolicTensor):
        return None
    from tapeflow.function.py_func import numpy_function
    out = numpy_function(lambda data: decode(data).numpy(), [contents], dtype)
    if shape is None:
        return out
    from tapeflow.ops import manip_ops
    return manip_ops.ensure_shape(out, shape)


def _as_string_tensor(data: bytes):
    """A 0-d string tensor where tapeflow has the string dtype, else the bytes themselves."""
    from tapeflow.framework.op import convert_to_tensor
    try:
        return convert_to_tensor(data)
    except (TypeError, ValueError):
        return data


def _open(data: bytes, op_name: str, kind: str, draft_mode=None):
    Image = _pil()
    try:
        img = Image.open(io.BytesIO(data))
        if draft_mode:   # libjpeg's own colour conversion (gray = the Y channel), as TF
            img.draft(draft_mode, img.size)
        img.load()
    except Exception as e:   # Pillow raises several types for corrupt data
        raise errors.op_error(op_name, f"Invalid {kind} data ({len(data)} bytes): {e}") from None
    return img


def _to_channels(img, channels: int, op_name: str, uint16: bool = False) -> np.ndarray:
    """Pixel array of `img` with `channels` channels (0: as stored)."""
    if channels not in (0, 1, 3, 4):
        raise errors.op_error(op_name, f"channels must be 0, 1, 3 or 4, got {channels}")
    if uint16 and img.mode.startswith("I"):
        arr = np.asarray(img).astype(np.uint16)[..., None]
        if channels in (3, 4):
            arr = np.repeat(arr, 3, axis=-1)
        if channels == 4:
            arr = np.concatenate([arr, np.full(arr.shape[:2] + (1,), 65535, np.uint16)], -1)
        return arr
    if channels == 0:
        mode = {"L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "1": "L", "I;16": "L",
                "P": "RGBA" if "transparency" in img.info else "RGB"}.get(img.mode, "RGB")
    else:
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    arr = np.asarray(img.convert(mode))
    return arr[..., None] if arr.ndim == 2 else arr


# TF has libpng convert colour to grey with weights 0.299, 0.587 (blue the rest), in
# 15-bit fixed point; 8-bit results are truncated, 16-bit ones rounded.
_GRAY_WEIGHTS = np.array([9797, 19234, 3737], np.uint64)


def _png_gray(color, rounding):
    acc = (color[..., :3].astype(np.uint64) * _GRAY_WEIGHTS).sum(-1)
    gray = (acc + 16384 if rounding else acc) >> np.uint64(15)
    return gray.astype(color.dtype)[..., None]


def _deep_color_channels(arr, channels, op_name):
    """16-bit colour pixels with `channels` channels (0: as stored)."""
    have = arr.shape[-1]
    if channels in (0, have):
        return arr
    if channels not in (1, 3, 4):
        raise errors.op_error(op_name, f"channels must be 0, 1, 3 or 4, got {channels}")
    color = arr[..., :3] if have >= 3 else np.repeat(arr[..., :1], 3, axis=-1)
    if channels == 1:
        return _png_gray(color, rounding=True)
    if channels == 3:
        return color
    alpha = arr[..., -1:] if have in (2, 4) else np.full(arr.shape[:2] + (1,), 65535,
                                                          np.uint16)
    return np.concatenate([color, alpha], axis=-1)


def _png_pixels(data, channels, dtype, op_name):
    dt = dtypes.as_dtype(dtype)
    if dt not in (dtypes.uint8, dtypes.uint16):
        raise errors.op_error(op_name, f"dtype must be uint8 or uint16, got {dt.name}")
    if _png16.is_deep_color(data):   # Pillow would drop their low bytes
        try:
            arr = _png16.decode(data)
        except (ValueError, zlib.error) as e:
            raise errors.op_error(op_name, f"Invalid PNG data ({len(data)} bytes): {e}") \
                from None
        arr = _deep_color_channels(arr, channels, op_name)
    else:
        img = _open(data, op_name, "PNG")
        deep = img.mode in ("I", "I;16", "I;16B") and img.info.get("bitdepth", 16) != 8
        if channels == 1 and img.mode not in ("L", "LA", "1") and not deep:
            arr = _png_gray(np.asarray(img.convert("RGB")), rounding=False)
        else:
            arr = _to_channels(img, channels, op_name, uint16=deep)
    if dt == dtypes.uint16 and arr.dtype == np.uint8:
        arr = arr.astype(np.uint16) * 257       # 8 -> 16 bits as libpng scales: v * 65535 / 255
    elif dt == dtypes.uint8 and arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)       # the high byte, as libpng's strip_16
    return arr


@tf_export("io.decode_png", "image.decode_png")
def decode_png(contents, channels=0, dtype=dtypes.uint8, name=None):
    """Decodes a PNG image to a [height, width, channels] uint8/uint16 tensor."""
    traced = _when_run(lambda c: decode_png(c, channels, dtype), contents,
                       dtypes.as_dtype(dtype), [None, None, int(channels) or None])
    if traced is not None:
        return traced
    data = contents_bytes(contents, "DecodePng")
    if not data.startswith(_PNG_MAGIC):
        raise errors.op_error("DecodePng", "Invalid PNG data: the data does not start with the "
                              "PNG signature")
    return Tensor(np.ascontiguousarray(_png_pixels(data, int(channels), dtype, "DecodePng")))


@tf_export("io.decode_jpeg", "image.decode_jpeg")
def decode_jpeg(contents, channels=0, ratio=1, fancy_upscaling=True,
                try_recover_truncated=False, acceptable_fraction=1, dct_method="", name=None):
    """Decodes a JPEG image to a [height, width, channels] uint8 tensor.

    Pillow's libjpeg decodes with the accurate integer DCT: the pixels equal TF's
    with `dct_method="INTEGER_ACCURATE"`, and differ from TF's default (the fast
    integer DCT) by a few levels (a mean under 2 of 255).
    """
    traced = _when_run(lambda c: decode_jpeg(c, channels, ratio), contents, dtypes.uint8,
                       [None, None, int(channels) or None])
    if traced is not None:
        return traced
    data = contents_bytes(contents, "DecodeJpeg")
    if int(channels) not in (0, 1, 3):
        raise errors.op_error("DecodeJpeg", f"channels must be 0, 1 or 3, got {channels}")
    if not data.startswith(_JPEG_MAGIC):
        raise errors.op_error("DecodeJpeg", "Invalid JPEG data or crop window: the data does "
                              "not start with the JPEG SOI marker")
    img = _open(data, "DecodeJpeg", "JPEG", "L" if int(channels) == 1 else None)
    if int(ratio) != 1:
        img = img.reduce(int(ratio))
    return Tensor(np.ascontiguousarray(_to_channels(img, int(channels), "DecodeJpeg")))


def _frames(img, channels, op_name):
    out = []
    for i in range(getattr(img, "n_frames", 1)):
        img.seek(i)
        out.append(_to_channels(img, channels or 3, op_name))
    return np.stack(out)


@tf_export("io.decode_gif", "image.decode_gif")
def decode_gif(contents, name=None):
    """Decodes every frame of a GIF to a [frames, height, width, 3] uint8 tensor."""
    data = contents_bytes(contents, "DecodeGif")
    if not data.startswith(_GIF_MAGIC):
        raise errors.op_error("DecodeGif", "Invalid GIF data: the data does not start with "
                              "the GIF signature")
    return Tensor(_frames(_open(data, "DecodeGif", "GIF"), 3, "DecodeGif"))


@tf_export("io.decode_bmp", "image.decode_bmp")
def decode_bmp(contents, channels=0, name=None):
    """Decodes a BMP image to a [height, width, channels] uint8 tensor."""
    data = contents_bytes(contents, "DecodeBmp")
    if not data.startswith(_BMP_MAGIC):
        raise errors.op_error("DecodeBmp", "Invalid BMP data: the data does not start with "
                              "'BM'")
    img = _open(data, "DecodeBmp", "BMP")
    return Tensor(np.ascontiguousarray(_to_channels(img, int(channels), "DecodeBmp")))


@tf_export("io.decode_image", "image.decode_image")
def decode_image(contents, channels=None, dtype=dtypes.uint8, name=None,
                 expand_animations=True):
    """Decodes a PNG, JPEG, GIF or BMP image, choosing the codec by its magic bytes.

    GIFs are [frames, h, w, 3] (only the first frame, [h, w, 3], when
    `expand_animations` is False). A float `dtype` scales as `convert_image_dtype`.
    """
    traced = _when_run(lambda c: decode_image(c, channels, dtype,
                                              expand_animations=expand_animations),
                       contents, dtypes.as_dtype(dtype),
                       None if expand_animations else [None, None, channels or None])
    if traced is not None:
        return traced
    data = contents_bytes(contents, "DecodeImage")
    ch = 0 if channels is None else int(channels)
    if data.startswith(_PNG_MAGIC):
        out = decode_png(data, ch, dtypes.uint16 if dtypes.as_dtype(dtype) == dtypes.uint16
                         else dtypes.uint8)
    elif data.startswith(_JPEG_MAGIC):
        out = decode_jpeg(data, ch)
    elif data.startswith(_GIF_MAGIC):
        out = decode_gif(data)
        if not expand_animations:
            out = Tensor(out.numpy()[0])
    elif data.startswith(_BMP_MAGIC):
        out = decode_bmp(data, ch)
    else:
        raise errors.op_error("DecodeImage", "Unknown image file format. One of JPEG, PNG, "
                              "GIF, BMP required.")
    dt = dtypes.as_dtype(dtype)
    if dt != out.dtype:
        from tapeflow.ops.image_ops import convert_image_dtype
        out = convert_image_dtype(out, dt)
    return out


def _pixels_for_encoding(image, op_name, allow16):
    arr = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise errors.op_error(op_name, f"image must be 3-dimensional [height, width, channels] "
                              f"with 1-4 channels, got shape {list(arr.shape)}")
    ok = (np.uint8, np.uint16) if allow16 else (np.uint8,)
    if arr.dtype.type not in ok:
        raise errors.op_error(op_name, f"image must be {' or '.join(t.__name__ for t in ok)}, "
                              f"got {arr.dtype}")
    return arr


@tf_export("io.encode_png", "image.encode_png")
def encode_png(image, compression=-1, name=None):
    """Encodes a [height, width, channels] uint8/uint16 image as PNG bytes."""
    Image = _pil()
    arr = _pixels_for_encoding(image, "EncodePng", allow16=True)
    level = 6 if int(compression) < 0 else min(int(compression), 9)
    buf = io.BytesIO()
    if arr.dtype == np.uint16:   # Pillow writes 8-bit colour only
        return _as_string_tensor(_png16.encode(arr, level))
    if arr.shape[-1] == 2:
        gray, alpha = (Image.fromarray(np.ascontiguousarray(arr[..., i])) for i in (0, 1))
        img = Image.merge("LA", (gray, alpha))
    else:
        img = Image.fromarray(np.ascontiguousarray(arr[..., 0] if arr.shape[-1] == 1 else arr))
    img.save(buf, format="PNG", compress_level=level)
    return _as_string_tensor(buf.getvalue())


@tf_export("io.encode_jpeg", "image.encode_jpeg")
def encode_jpeg(image, format="", quality=95, progressive=False, optimize_size=False,  # noqa: A002
                chroma_downsampling=True, density_unit="in", x_density=300, y_density=300,
                xmp_metadata="", name=None):
    """Encodes a [height, width, 1 or 3] uint8 image as JPEG bytes."""
    Image = _pil()
    arr = _pixels_for_encoding(image, "EncodeJpeg", allow16=False)
    if format == "grayscale" or (not format and arr.shape[-1] == 1):
        img = Image.fromarray(np.ascontiguousarray(arr[..., 0]))
    elif arr.shape[-1] == 3:
        img = Image.fromarray(np.ascontiguousarray(arr))
    else:
        raise errors.op_error("EncodeJpeg", f"image must have 1 or 3 channels, got "
                              f"{arr.shape[-1]}")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality), progressive=bool(progressive),
             optimize=bool(optimize_size), subsampling=2 if chroma_downsampling else 0,
             dpi=(int(x_density), int(y_density)))
    return _as_string_tensor(buf.getvalue())


@tf_export("io.is_jpeg", "image.is_jpeg")
def is_jpeg(contents, name=None):
    """Whether `contents` starts with the JPEG magic bytes."""
    return Tensor(np.asarray(contents_bytes(contents, "IsJpeg").startswith(_JPEG_MAGIC)))
