"""Where attachment contents live: a small interface, and files on disk as its one implementation.

A file is written under a temporary name, flushed to disk and then renamed to its key, so a crash
leaves either the whole file or a `.part` that the sweep deletes, never half a file under a key.
Keys are random: nothing a user sent (the file's name) reaches the file system.
"""

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

from backoffice.paths import INSTANCE

_KEY_CHARS = frozenset("0123456789abcdef")


def new_key() -> str:
    return secrets.token_hex(16)


class NewFile(Protocol):
    """A file being written: `write` bytes, then `commit` (or `abort`) once."""

    key: str
    size: int
    sha256: str

    def write(self, data: bytes) -> int: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class Storage(Protocol):
    def create(self) -> NewFile:
        """A new file under a fresh random key."""

    def open(self, key: str) -> BinaryIO:
        """The contents; raises FileNotFoundError."""

    def delete(self, key: str) -> None:
        """Remove the file; a key that is gone already is no error."""

    def keys_older_than(self, seconds: float) -> Iterator[str]:
        """Every stored key (and unfinished temporary file) last written longer ago than `seconds`."""


@dataclass
class _DiskFile:
    key: str
    final: Path
    temporary: Path
    handle: BinaryIO
    size: int = 0
    _hash: "hashlib._Hash" = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temporary, self.final)

    def abort(self) -> None:
        self.handle.close()
        self.temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def written(storage: Storage) -> Iterator[NewFile]:
    """A new file for the block to write: committed when the block ends, aborted if it raises."""
    new = storage.create()
    try:
        yield new
        new.commit()
    except BaseException:
        new.abort()
        raise


class DiskStorage:
    """Files under `root/objects/<2 hex>/<key>`, written through `root/tmp/<key>.part`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._tmp = root / "tmp"

    def _path(self, key: str) -> Path:
        if len(key) != 32 or not set(key) <= _KEY_CHARS:
            raise FileNotFoundError(key)  # never a path made from anything else
        return self._objects / key[:2] / key

    def create(self) -> _DiskFile:
        self._tmp.mkdir(parents=True, exist_ok=True)
        key = new_key()
        temporary = self._tmp / f"{key}.part"
        # 0600: the files are personal data; only the app's own user reads them.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return _DiskFile(key, self._path(key), temporary, os.fdopen(fd, "wb"))

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink(missing_ok=True)

    def keys_older_than(self, seconds: float) -> Iterator[str]:
        cutoff = time.time() - seconds
        for part in self._tmp.glob("*.part") if self._tmp.exists() else ():
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)  # a write a crash cut off: nobody can use it
        if not self._objects.exists():
            return
        for folder in self._objects.iterdir():
            for path in folder.iterdir():
                if path.stat().st_mtime < cutoff:
                    yield path.name


_STORAGE = "kip.attachment_storage"


def storage() -> Storage:
    """The app's storage (ATTACHMENT_FOLDER, by default instance/attachments)."""
    found = current_app.extensions.get(_STORAGE)
    if found is None:
        folder = current_app.config["ATTACHMENT_FOLDER"]
        found = DiskStorage(Path(folder) if folder else INSTANCE / "attachments")
        current_app.extensions[_STORAGE] = found
    return found
