"""The published directory: every public read as a file, which nginx serves by itself.

Each node keeps one directory (`settings.PUBLISH_DIR`) current: its processes write the
documents of every change they hear of (see `site.publish`), so nothing is copied
between machines, and with every app process down nginx still answers from here.

A file is written beside its final name and renamed over it (a reader sees the old bytes
or the new, never half), with `.gz` and `.br` beside it for nginx's `gzip_static` and
`brotli_static`, all three with the same modification time. The time is the document's
own (the snapshot's build time), so two nodes that publish the same bytes give the same
Last-Modified and ETag; when the bytes change within the same second, the time moves on a
second, so an ETag never names two different bodies. Bytes that did not change are not
written again, and their validators stay.

The app serves the same files with the same validators when no nginx is in front
(`read`): nginx's ETag is `"<mtime hex>-<size hex>"` of the file it sends.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import brotli
from django.conf import settings

# Smaller files are sent as they are (nginx's gzip_min_length is the same).
COMPRESS_MIN = 1024
ENCODINGS = {"br": ".br", "gzip": ".gz"}
MARKER = "_published.json"
PRIVATE = "_live"  # prepared live regions: read by the app, never served by nginx

_memo: dict[str, tuple[tuple, Representations]] = {}
_memo_lock = threading.Lock()


@dataclass(frozen=True)
class Variant:
    body: bytes
    etag: str


@dataclass(frozen=True)
class Representations:
    """A published file as nginx would send it: identity, gzip and brotli variants."""

    variants: dict[str, Variant]  # "" (identity), "gzip", "br"
    last_modified: str

    def pick(self, accept_encoding: str) -> tuple[str, Variant]:
        accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
        for encoding in ("br", "gzip"):
            if encoding in accepted and encoding in self.variants:
                return encoding, self.variants[encoding]
        return "", self.variants[""]


def root() -> Path:
    return Path(settings.PUBLISH_DIR)


def _etag(stat: os.stat_result) -> str:
    return f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'


def read(relpath: str) -> Representations | None:
    """The published file at `relpath` with its variants, or None. One stat per call; the
    bytes are read again only when the file changed."""
    path = root() / relpath
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    memo = _memo.get(str(path))
    if memo is not None and memo[0] == key:
        return memo[1]
    try:
        variants = {"": Variant(path.read_bytes(), _etag(stat))}
        for encoding, suffix in ENCODINGS.items():
            with contextlib.suppress(OSError):
                companion = Path(str(path) + suffix)
                variants[encoding] = Variant(companion.read_bytes(), _etag(companion.stat()))
    except OSError:
        return None
    found = Representations(variants, formatdate(int(stat.st_mtime), usegmt=True))
    with _memo_lock:
        if len(_memo) > 10_000:
            _memo.clear()
        _memo[str(path)] = (key, found)
    return found


def _write_file(path: Path, body: bytes, mtime: int, *, replace: bool) -> bool:
    """Write `body` at `path` atomically with `mtime`. Without `replace`, only if absent."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.chmod(tmp, 0o644)  # nginx's workers may run as another user
        os.utime(tmp, (mtime, mtime))
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write(relpath: str, body: bytes, modified: int, *, replace: bool = True) -> bool:
    """Publish `body` at `relpath` (with its compressed companions); False if unchanged
    (or, without `replace`, already there)."""
    path = root() / relpath
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    mtime = modified
    try:
        old = path.stat()
    except OSError:
        old = None
    if old is not None:
        if not replace:
            return False
        with contextlib.suppress(OSError):
            if old.st_size == len(body) and path.read_bytes() == body:
                return False
        # Never the same time for different bytes: an ETag must not name two bodies.
        mtime = max(modified, int(old.st_mtime) + 1)
    # Companions first: nginx takes `.gz` or `.br` when they exist, so they must never be
    # older than the file they stand for once it is in place.
    for suffix, data in _compressed(body).items():
        _write_file(Path(str(path) + suffix), data, mtime, replace=True)
    if not _write_file(path, body, mtime, replace=replace):
        return False
    if len(body) < COMPRESS_MIN:
        for suffix in ENCODINGS.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(path) + suffix)
    return True


def _compressed(body: bytes) -> dict[str, bytes]:
    if len(body) < COMPRESS_MIN:
        return {}
    return {
        ".gz": gzip.compress(body, compresslevel=6, mtime=0),
        ".br": brotli.compress(body, quality=5),
    }


def remove(relpath: str) -> None:
    for suffix in ("", *ENCODINGS.values()):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(root() / relpath) + suffix)


def read_json(relpath: str) -> dict | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((root() / relpath).read_bytes())
    return None


def write_json(relpath: str, value: dict) -> None:
    path = root() / relpath
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


@contextlib.contextmanager
def exclusive():
    """One publisher at a time on this node (the processes share the directory)."""
    directory = root()
    directory.mkdir(parents=True, exist_ok=True, mode=0o755)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
