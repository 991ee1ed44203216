"""Finding dataset files: the Keras cache, system copies, then a checked download.

Lookup order, the same for every loader:

1. the Keras cache: `$KERAS_HOME/datasets` when `KERAS_HOME` is set, else
   `~/.keras/datasets` (the archive or the extracted folder, as Keras keeps
   them);
2. known system copies (Debian's `dataset-fashion-mnist` package installs
   `/usr/share/datasets/fashion-mnist/*.gz`);
3. a download from the dataset's canonical address into the cache. The bytes
   go to a temporary name beside the target and are renamed only after their
   checksum matches, so an interrupted or corrupted download never leaves a
   file that looks complete.

With no copy and no network the error names each file and where to put it.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass

# Tests replace this (e.g. with a function that reads a local file) to run the
# download path without a network; `file://` URLs work with it as it is.
_DOWNLOAD_TIMEOUT_S = 60


def _fetch(url: str, out) -> None:
    """Copies the bytes at `url` into the binary file object `out`."""
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
        while True:
            block = response.read(1 << 20)
            if not block:
                return
            out.write(block)


@dataclass(frozen=True)
class Remote:
    """Where a file can be downloaded from and how to check it.

    `digest` is the hex digest of the file with `algorithm` ('sha256' or
    'md5'), or, with `of_content=True`, the sha256 of its gunzipped content
    (which stays the same when a mirror re-compresses the file).
    """
    url: str
    digest: str
    algorithm: str = "sha256"
    of_content: bool = False


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither cached, nor installed, nor downloadable."""


def cache_dir() -> str:
    """The Keras dataset cache: `$KERAS_HOME/datasets` or `~/.keras/datasets`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def _writable_cache_dir() -> str:
    """The cache directory, created; Keras's fallback under the temp dir if it cannot be."""
    path = cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    path = os.path.join(tempfile.gettempdir(), ".keras", "datasets")
    os.makedirs(path, exist_ok=True)
    return path


def first_existing(candidates):
    """The first path in `candidates` that exists, or None."""
    for path in candidates:
        if os.path.exists(path):
            return path
    return None


def checksum_ok(path: str, remote: Remote) -> bool:
    h = hashlib.new("sha256" if remote.of_content else remote.algorithm)
    opener = gzip.open if remote.of_content else open
    try:
        with opener(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except (OSError, EOFError):
        return False
    return h.hexdigest() == remote.digest


def download(remote: Remote, relative_path: str) -> str:
    """Downloads `remote` to `<cache>/<relative_path>`, checked, and returns that path.

    Raises:
        OSError: the download failed (the cause is chained).
        ValueError: the bytes did not match the checksum (nothing is kept).
    """
    target = os.path.join(_writable_cache_dir(), relative_path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".part",
                                   dir=os.path.dirname(target))
    try:
        print(f"Downloading data from {remote.url}", flush=True)   # as Keras announces it
        with os.fdopen(fd, "wb") as out:
            _fetch(remote.url, out)
        if not checksum_ok(partial, remote):
            raise ValueError(f"The file downloaded from {remote.url} does not match its "
                             f"{remote.algorithm} checksum {remote.digest}; it was deleted. "
                             "Try again, or download it yourself and put it at "
                             f"{target}.")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


def missing_error(dataset: str, loader: str, files, where: str, cause=None, source: str = "",
                  alternatives: str = "") -> DatasetNotFoundError:
    """The one error a loader raises when no copy exists and none can be downloaded."""
    listing = ", ".join(files)
    reason = f" The download failed: {cause}." if cause is not None else ""
    return DatasetNotFoundError(
        f"{loader}: {dataset} is not on this machine and could not be downloaded.{reason} "
        f"Put {listing}{source} in {where} (the Keras cache; set KERAS_HOME to use another "
        f"directory){alternatives}, then call {loader} again.")
