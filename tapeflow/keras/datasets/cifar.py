"""Shared CIFAR reading: the python-pickle batches, from a folder or the tar.gz.

Keras keeps CIFAR as the extracted folder (`cifar-10-batches-py/`, or under
`cifar-10-batches-py-target/`) or as the downloaded archive; both are read
here. The archive's members are read in memory by their expected names (a path
inside the archive never chooses where anything is written), then written to
the extracted folder so that later loads skip the decompression.
"""
from __future__ import annotations

import os
import tarfile
import tempfile
import zlib

import numpy as np

from tapeflow.keras.datasets import _files, _formats


def _archive_members(path: str, folder: str, names) -> dict:
    wanted = {f"{folder}/{n}": n for n in names}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                key = member.name.lstrip("./")
                if key in wanted and member.isfile():
                    found[wanted[key]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise _formats.CorruptDatasetError(
            f"Dataset file {path} is corrupt or truncated: it is not a complete tar.gz "
            f"archive ({e}). Delete it so that it is downloaded again.") from None
    missing = [n for n in names if n not in found]
    if missing:
        raise _formats.CorruptDatasetError(
            f"Dataset file {path} is corrupt or truncated: it lacks "
            f"{', '.join(f'{folder}/{n}' for n in missing)}. Delete it so that it is "
            "downloaded again.")
    return found


def read_batches(folder: str, names, archives, remote: _files.Remote, loader: str,
                 dataset: str) -> dict:
    """Bytes of each batch file `names`, from the cache, or a download of the archive.

    Args:
        folder: the folder name inside the archive (`cifar-10-batches-py`).
        names: the batch files wanted.
        archives: archive file names to look for in the cache; the first is the
            name a download is saved under.
        remote: where the archive is downloaded from, with its checksum.
    """
    cache = _files.cache_dir()
    for d in (os.path.join(cache, folder), os.path.join(cache, folder + "-target", folder)):
        if all(os.path.isfile(os.path.join(d, n)) for n in names):
            out = {}
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    out[n] = f.read()
            out["__where__"] = d
            return out
    archive = _files.first_existing(os.path.join(cache, a) for a in archives)
    if archive is None:
        try:
            archive = _files.download(remote, archives[0])
        except OSError as e:
            raise _files.missing_error(
                dataset, loader, [archives[0]], cache, cause=e,
                source=f" (from {remote.url}, sha256 {remote.digest}; or its extracted "
                             f"folder {folder}/)") from None
    out = _archive_members(archive, folder, names)
    _keep_extracted(os.path.join(cache, folder), out)
    out["__where__"] = archive
    return out


def _keep_extracted(folder: str, members: dict) -> None:
    """Writes the batches beside the archive, as Keras extracts it, so later loads skip
    the decompression. Each file appears complete or not at all (temp name, then
    rename); a read-only cache only loses the speed-up."""
    try:
        os.makedirs(folder, exist_ok=True)
        for name, data in members.items():
            target = os.path.join(folder, name)
            if os.path.exists(target):
                continue
            fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
    except OSError:
        pass


def to_keras_layout(images, labels):
    """(N, 3, 32, 32) -> channels-last (N, 32, 32, 3), labels -> (N, 1), as Keras returns."""
    return (np.ascontiguousarray(images.transpose(0, 2, 3, 1)),
            labels.reshape(len(labels), 1))


def decode(batch: bytes, where: str, name: str, label_key: str):
    return _formats.cifar_batch(batch, f"{where}{os.sep if os.path.isdir(where) else ':'}{name}",
                                label_key)
