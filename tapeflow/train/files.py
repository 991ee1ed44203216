"""Atomic file writes shared by checkpoints and Keras files.

`atomic_write(path, write_fn)` writes into a temporary file beside the target and
renames it over the target only once it is complete and flushed, so a failed or
interrupted save leaves the previous file as it was. It also:

* refuses a target that exists but is not writable (`PermissionError`, as
  TensorFlow's file system does), instead of silently replacing it;
* writes *through* a symbolic link (the link stays, the file it points to is
  replaced);
* names its temporary files `.tapeflow-tmp-<pid>-<random>-<name>` and, before
  writing, removes those of processes that no longer run (a save killed with
  SIGKILL cannot clean up after itself), plus the `.tmp-*<name>` files older tapeflow
  versions left behind.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
import time

_PREFIX = ".tapeflow-tmp-"
_OWN = re.compile(r"^\.tapeflow-tmp-(\d+)-")
_STALE_AGE = 600.0        # seconds: an old-style temp file this old belongs to no live save


def resolve_target(path) -> str:
    """The file a save to `path` replaces (symbolic links followed), after the checks."""
    path = os.fspath(path)
    if os.path.isdir(path) or path.endswith(os.sep):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a directory; give a file name")
    if os.path.islink(path):
        path = os.path.realpath(path)
    # The owner's write bit counts even for root, who may write anything: a file made
    # read-only is not silently replaced.
    if os.path.exists(path) and (not os.access(path, os.W_OK)
                                 or not os.stat(path).st_mode & stat.S_IWUSR):
        raise PermissionError(f"Cannot save to {path}: the file is write-protected")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path}: the folder {folder} does not exist")
    return path


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: str, name: str = "") -> None:
    """Removes temporary files of dead saves in `folder` (best effort)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for entry in entries:
        full = os.path.join(folder, entry)
        m = _OWN.match(entry)
        try:
            if m and not _pid_alive(int(m.group(1))):
                os.unlink(full)
            elif (name and entry.startswith(".tmp-") and entry.endswith(name)
                  and len(entry) == len(".tmp-") + 8 + len(name)
                  and now - os.path.getmtime(full) > _STALE_AGE):
                os.unlink(full)        # left by tapeflow's previous saver
        except OSError:
            pass


def temp_path(target: str) -> str:
    folder, name = os.path.split(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", suffix=f"-{name}",
                               dir=folder)
    os.close(fd)
    # mkstemp makes the file owner-only; a saved file gets the usual permissions (umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def atomic_write(path, write_fn, overwrite=True) -> str:
    """Calls write_fn(binary file) on a temporary file, then renames it over `path`.

    Returns the path written (the link's target when `path` is a symbolic link).
    """
    target = resolve_target(path)
    if not overwrite and os.path.exists(target):
        raise FileExistsError(f"{target} exists and overwrite=False")
    folder, name = os.path.split(os.path.abspath(target))
    clean_stale(folder, name)
    tmp = temp_path(target)
    try:
        with open(tmp, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def atomic_write_many(contents: dict) -> None:
    """Writes several files ({path: bytes}) each atomically; the last one named is renamed
    last (a checkpoint's index after its data, so no reader sees an index without data)."""
    temps = []
    try:
        for path, data in contents.items():
            target = resolve_target(path)
            folder, name = os.path.split(os.path.abspath(target))
            clean_stale(folder, name)
            tmp = temp_path(target)
            temps.append((tmp, target))
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for tmp, target in temps:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
