"""`keras.utils.get_file`: a file from the Keras cache, downloaded there when missing.

The layout is Keras 3's: `<cache_dir>/<cache_subdir>/<fname>` with `cache_dir`
defaulting to `$KERAS_HOME` or `~/.keras` (a temporary `.keras` folder when that is not
writable) and `cache_subdir` to 'datasets'. With `extract=True` an archive `name.tar.gz`
is unpacked into `<datadir>/name_extracted` and that folder is returned. A cached file
whose `file_hash` does not match is downloaded again. The download goes to a temporary
name and is renamed only after its hash matched. Without a network the error says where
to put the file by hand.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import zipfile

from tapeflow.keras.datasets import _files


def _hasher(algorithm, file_hash):
    if algorithm == "auto":
        algorithm = "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5'; got "
                         f"{algorithm!r}.")
    return algorithm


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535) -> bool:
    """Whether the file's sha256/md5 hex digest equals `file_hash`."""
    h = hashlib.new(_hasher(algorithm, file_hash))
    with open(fpath, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest() == str(file_hash)


def _targets(fname, origin, datadir, extract):
    provided = fname
    fname = os.fspath(fname) if fname else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                         "Please specify the `fname` argument.")
    if provided and os.sep in fname:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify "
                         f"the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")
    if not extract:
        return os.path.join(datadir, fname), None
    if provided and "." in fname:
        return (os.path.join(datadir, fname),
                os.path.join(datadir, fname[:fname.find(".")] + "_extracted"))
    return os.path.join(datadir, fname + "_archive"), os.path.join(datadir, fname)


def _download(origin, target, file_hash, algorithm):
    fd, partial = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".part",
                                   dir=os.path.dirname(target))
    try:
        print(f"Downloading data from {origin}", flush=True)
        try:
            with os.fdopen(fd, "wb") as out:
                _files._fetch(origin, out)
        except (urllib.error.URLError, OSError) as e:
            raise OSError(f"Could not download {origin} ({e}). If this machine is offline, "
                          f"download the file elsewhere and put it at {target}") from e
        if file_hash is not None and not validate_file(partial, file_hash, algorithm):
            raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} file "
                             f"hash does not match the provided value of {file_hash}.")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _extract(archive, into, archive_format):
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format or []))
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                t.extractall(into, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(into)
            return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """The local path of `fname`, downloaded from `origin` into the Keras cache if needed.

    Returns:
        The file's path, or the extraction folder with `extract=True` / `untar=True`.

    Raises:
        OSError: the file is not cached and cannot be downloaded; the message names the
            path to put it at.
        ValueError: the downloaded file does not match `file_hash`.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _hasher(hash_algorithm, file_hash)
    base = os.path.expanduser(cache_dir) if cache_dir is not None else os.path.dirname(
        _files.cache_dir())
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    target, extraction_dir = _targets(fname, origin, datadir, extract or untar)
    needed = force_download or not os.path.exists(target)
    if not needed and file_hash is not None and not validate_file(target, file_hash,
                                                                  algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{algorithm} file hash does not match the original value of {file_hash} so we "
              "will re-download the data.", flush=True)
        needed = True
    if needed:
        _download(origin, target, file_hash, algorithm)
    if extraction_dir is None:
        return target
    if not _extract(target, extraction_dir, "tar" if untar else archive_format):
        import warnings
        warnings.warn(f"Could not extract archive {target}.", stacklevel=2)
    return extraction_dir
