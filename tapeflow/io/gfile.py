"""`tf.io.gfile`: file-system functions and `GFile`, on the local file system.

Errors are TF's: a missing file raises `tf.errors.NotFoundError` naming it, an existing
target of `rename`/`copy` without `overwrite` raises `AlreadyExistsError`.

    >>> import tapeflow as tf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with tf.io.gfile.GFile(os.path.join(d, 'a.txt'), 'w') as f:
    ...     _ = f.write('hi')
    >>> tf.io.gfile.listdir(d)
    ['a.txt']
"""
from __future__ import annotations

import glob as _glob
import os
import shutil

from tapeflow.framework import errors
from tapeflow.framework.api_export import tf_export


def _path(name) -> str:
    if isinstance(name, bytes):
        return name.decode("utf-8")
    if hasattr(name, "numpy"):
        value = name.numpy()
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return os.fspath(name)


def _not_found(path, what="file"):
    return errors.NotFoundError(None, None, f"{path}; No such {what} or directory")


class GFile:
    """`tf.io.gfile.GFile`: a file object (text for 'r'/'w'/'a', bytes with 'b').

    Raises `tf.errors.NotFoundError` when a file opened for reading does not exist.
    """

    def __init__(self, name, mode="r"):
        self.name = _path(name)
        self.mode = mode
        if "r" in mode and not os.path.exists(self.name):
            raise _not_found(self.name)
        encoding = None if "b" in mode else "utf-8"
        self._f = open(self.name, mode, encoding=encoding)

    def read(self, n=-1):
        return self._f.read(n)

    def readline(self):
        return self._f.readline()

    def readlines(self):
        return self._f.readlines()

    def write(self, data):
        if "b" not in self.mode and isinstance(data, bytes):
            data = data.decode("utf-8")
        return self._f.write(data)

    def seek(self, offset=None, whence=0, position=None):
        return self._f.seek(position if position is not None else offset, whence)

    def tell(self):
        return self._f.tell()

    def size(self):
        return os.path.getsize(self.name)

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()

    @property
    def closed(self):
        return self._f.closed

    def __iter__(self):
        return iter(self._f)

    def __next__(self):
        return next(self._f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@tf_export("io.gfile.exists")
def exists(path) -> bool:
    """Whether `path` (a file or a directory) exists."""
    return os.path.exists(_path(path))


@tf_export("io.gfile.isdir")
def isdir(path) -> bool:
    """Whether `path` is a directory."""
    return os.path.isdir(_path(path))


@tf_export("io.gfile.glob")
def glob(pattern) -> list:
    """The paths matching a shell pattern (or each pattern of a list), sorted."""
    patterns = [pattern] if isinstance(pattern, (str, bytes, os.PathLike)) else pattern
    out = []
    for p in patterns:
        out.extend(_glob.glob(_path(p)))
    return sorted(set(out))


@tf_export("io.gfile.listdir")
def listdir(path) -> list:
    """The names of the entries of directory `path` (no '.'/'..')."""
    path = _path(path)
    if not os.path.isdir(path):
        raise _not_found(path, "directory")
    return sorted(os.listdir(path))


@tf_export("io.gfile.makedirs")
def makedirs(path) -> None:
    """Creates `path` and its missing parents (no error when it exists)."""
    os.makedirs(_path(path), exist_ok=True)


@tf_export("io.gfile.mkdir")
def mkdir(path) -> None:
    """Creates the directory `path` (its parent must exist)."""
    path = _path(path)
    try:
        os.mkdir(path)
    except FileExistsError:
        raise errors.AlreadyExistsError(None, None, f"{path}; File exists") from None
    except FileNotFoundError:
        raise _not_found(path) from None


@tf_export("io.gfile.remove")
def remove(path) -> None:
    """Deletes the file `path`."""
    path = _path(path)
    if not os.path.isfile(path):
        raise _not_found(path)
    os.remove(path)


@tf_export("io.gfile.rmtree")
def rmtree(path) -> None:
    """Deletes the directory `path` and everything under it."""
    path = _path(path)
    if not os.path.isdir(path):
        raise _not_found(path)
    shutil.rmtree(path)


def _check_target(src, dst, overwrite):
    if not os.path.exists(src):
        raise _not_found(src)
    if os.path.exists(dst) and not overwrite:
        raise errors.AlreadyExistsError(None, None, f"file already exists: {dst}")


@tf_export("io.gfile.rename")
def rename(src, dst, overwrite=False) -> None:
    """Renames (moves) `src` to `dst`; an existing `dst` needs `overwrite=True`."""
    src, dst = _path(src), _path(dst)
    _check_target(src, dst, overwrite)
    os.replace(src, dst)


@tf_export("io.gfile.copy")
def copy(src, dst, overwrite=False) -> None:
    """Copies the file `src` to `dst`; an existing `dst` needs `overwrite=True`."""
    src, dst = _path(src), _path(dst)
    _check_target(src, dst, overwrite)
    shutil.copyfile(src, dst)


@tf_export("io.gfile.walk")
def walk(top, topdown=True, onerror=None):
    """`os.walk` over `top`: (directory, subdirectory names, file names) triples."""
    return os.walk(_path(top), topdown=topdown, onerror=onerror)
