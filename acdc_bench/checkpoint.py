"""Checkpoints that survive a kill at any moment, a full disk and a corrupted file.

Each checkpoint is written to a temporary file, fsynced and renamed; the one it replaces
becomes ``prev.pt`` and stays until the next one is complete, so a crash at any moment
leaves at least one complete checkpoint. A checkpoint is an ordinary ``torch.save`` file
followed by a one-line trailer with the SHA-256 of its bytes (``torch.load`` reads it as
it is); loading verifies the trailer, so a truncated file or a flipped bit is reported
by name, and the previous checkpoint is used instead, never a traceback.

Checkpoints are data, not code: every file is read with ``torch.load(weights_only=True)``,
which rebuilds tensors and plain Python types only. Run folders are shared on clusters and
passed around with results; a pickle that would import or call anything else (run a shell
command, say) is refused by name before it runs (:class:`UnsafeCheckpoint`), and the run
does not fall back to another checkpoint or start over.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from acdc_bench.errors import ReportedError

LAST, PREV = "last.pt", "prev.pt"
_MAGIC = b"\nACDC-CKPT sha256 "
_TRAILER = re.compile(rb"\nACDC-CKPT sha256 ([0-9a-f]{64}) (\d{16})\n\Z")
_TRAILER_LEN = len(_MAGIC) + 64 + 1 + 16 + 1
REQUIRED_KEYS = ("epoch", "model", "optimizer", "method", "history", "rng", "config")


class CheckpointError(ReportedError):
    """No checkpoint of a run directory can be read: the run refuses to start over silently."""


class UnsafeCheckpoint(CheckpointError):
    """A checkpoint with a valid trailer whose unpickling needs more than data (tensors and
    plain types): written by other code or tampered with. Refused outright, in one line."""


class CorruptCheckpoint(Exception):
    """One checkpoint file is unreadable (the reason is the message)."""


class _HashingWriter:
    """A file-like sink for ``torch.save`` that hashes what it writes on the way."""

    def __init__(self, f):
        self.f, self.sha, self.size = f, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(obj: Any, folder: Path, name: str) -> str:
    """``obj`` + integrity trailer in a fsynced temporary file in ``folder``; returns its path."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            w = _HashingWriter(f)
            torch.save(obj, w)
            f.write(_MAGIC + w.sha.hexdigest().encode() + b" %016d\n" % w.size)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def atomic_save(obj: Any, path: str | Path) -> None:
    """Replace ``path`` by a verified checkpoint of ``obj``; never leaves a partial file there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(obj, path.parent, path.name)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def save_rotating(obj: Any, folder: str | Path) -> Path:
    """Write ``folder/last.pt``; the checkpoint it replaces is kept as ``folder/prev.pt``.

    Order: new file complete and fsynced -> old ``last.pt`` renamed to ``prev.pt`` -> new
    file renamed to ``last.pt``. Between the renames only ``prev.pt`` exists, which
    :func:`load_latest` then uses.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(obj, folder, LAST)
    last = folder / LAST
    if last.exists():
        os.replace(last, folder / PREV)
    os.replace(tmp, last)
    _fsync_dir(folder)
    return last


def remove_stale_temporaries(folder: str | Path) -> None:
    """Temporary files of writes a kill interrupted (they can be as large as a checkpoint)."""
    for p in Path(folder).glob(".*.tmp"):
        p.unlink(missing_ok=True)


def verify(path: str | Path) -> None:
    """Raise :class:`CorruptCheckpoint` unless ``path`` is complete and its checksum matches."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size < _TRAILER_LEN:
                raise CorruptCheckpoint(f"truncated ({size} bytes)")
            f.seek(size - _TRAILER_LEN)
            m = _TRAILER.match(f.read())
            if m is None:
                raise CorruptCheckpoint("truncated or not an acdc-bench checkpoint (no integrity trailer)")
            digest, n = m.group(1).decode(), int(m.group(2))
            if n != size - _TRAILER_LEN:
                raise CorruptCheckpoint(f"size {size - _TRAILER_LEN} bytes, the trailer says {n}")
            f.seek(0)
            sha = hashlib.sha256()
            while n > 0:
                chunk = f.read(min(n, 1 << 22))
                if not chunk:
                    raise CorruptCheckpoint("shorter than its trailer says")
                sha.update(chunk)
                n -= len(chunk)
    except OSError as err:
        raise CorruptCheckpoint(f"unreadable ({err.strerror or err})") from None
    if sha.hexdigest() != digest:
        raise CorruptCheckpoint("checksum mismatch (the file was modified or damaged after writing)")


_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def read(path: str | Path) -> Any:
    """A verified file of :func:`atomic_save` or :func:`save_rotating`, loaded as data (on the
    CPU): every loader of checkpoints and artefacts (co-trained dense models, sub-nets)
    goes through here. :class:`CorruptCheckpoint` if damaged; :class:`UnsafeCheckpoint` if
    it needs anything but tensors and plain types."""
    verify(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not str(err).startswith("Weights only load failed"):
            raise CorruptCheckpoint(f"not loadable (UnpicklingError: {_first_line(err)})") from None
        found = _UNSAFE_GLOBAL.search(str(err))
        needs = f"the Python object {found.group(1)}" if found else "more than tensors and plain types"
        raise UnsafeCheckpoint(
            f"refusing to load {path}: it is not data (unpickling it needs {needs}; acdc-bench "
            "checkpoints hold tensors and plain types only and load with torch.load(weights_only=True)); "
            "it was written by other code or modified after writing: move it aside, or rerun with "
            "another hydra.run.dir"
        ) from None
    except Exception as err:  # verified bytes that still do not unpickle: written by other code
        raise CorruptCheckpoint(f"not loadable ({type(err).__name__}: {_first_line(err)})") from None


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else ""


def load(path: str | Path) -> dict[str, Any]:
    """A verified training checkpoint's contents (on the CPU): :func:`read`, then the keys a
    resume needs; :class:`CorruptCheckpoint` if unusable."""
    state = read(path)
    missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CorruptCheckpoint(f"not a training checkpoint (missing {missing})")
    return state


def load_latest(
    folder: str | Path, log: Callable[[str], None]
) -> tuple[dict[str, Any], Path, list[Path]] | None:
    """The newest readable checkpoint in ``folder`` (``last.pt``, else ``prev.pt``), its path
    and the unusable files newer than it; None when there is no checkpoint at all. Unusable
    files are reported through ``log``; if checkpoints exist but none can be read,
    :class:`CheckpointError` refuses to start the run over. An :class:`UnsafeCheckpoint`
    stops the search: a tampered run directory is reported, not worked around."""
    folder = Path(folder)
    candidates = [folder / name for name in (LAST, PREV) if (folder / name).exists()]
    problems, bad = [], []
    for i, path in enumerate(candidates):
        try:
            return load(path), path, bad
        except CorruptCheckpoint as err:
            problems.append(f"{path}: {err}")
            bad.append(path)
            fallback = f"; falling back to {candidates[i + 1]}" if i + 1 < len(candidates) else ""
            log(f"checkpoint {path} is unusable: {err}{fallback}")
    if problems:
        raise CheckpointError(
            f"no readable checkpoint in {folder} ({'; '.join(problems)}); restart from scratch by moving "
            f"{folder} aside, or rerun with another hydra.run.dir"
        )
    return None


def set_aside(paths: list[Path], log: Callable[[str], None]) -> None:
    """Rename unusable checkpoints to ``<name>.corrupt`` (kept for inspection), so that the
    next save does not rotate one of them into ``prev.pt``."""
    for path in paths:
        if path.exists():
            os.replace(path, path.with_name(path.name + ".corrupt"))
            log(f"moved the unusable {path.name} to {path.name}.corrupt")


def atomic_write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
