"""Content-addressed blob store for evidence: archived pages, product images, thumbnails.

A blob's key is derived from the SHA-256 of its bytes: ``ab/cd/abcd…<64 hex><suffix>``. Storing the
same bytes twice is a no-op and returns the same key, so a recrawl adds nothing, and a key is its own
integrity check (``sha256(get(key))`` must match the key).

``put(data, suffix=..., digest=...)``: a derived encoding (the gzip archive of a page) may be filed
under the digest of the *original* bytes, so ``gunzip(get(key))`` hashes to the key; the caller
vouches for that digest.

Where blobs go (``blob_store_from_settings``):

| ``CLUEWATCH_BLOB_STORE`` | store |
|---|---|
| unset | ``LocalBlobStore($CLUEWATCH_HOME/blobs)`` |
| a path or ``file:///path`` | ``LocalBlobStore(path)`` |
| ``s3://bucket/prefix`` | ``S3BlobStore`` (boto3; endpoint from ``CLUEWATCH_S3_ENDPOINT_URL``) |

``CLUEWATCH_BLOB_FSYNC=0`` skips the local store's fsyncs altogether (see LocalBlobStore).
"""
from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import re
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"(?:\.[a-z0-9]{1,10}){0,2}")
_KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})((?:\.[a-z0-9]{1,10}){0,2})")


class InvalidBlobKey(ValueError):
    """A key that is not of the form ab/cd/<sha256><suffix> (e.g. a path traversal attempt)."""


def blob_key(digest: str, suffix: str = "") -> str:
    """The key for a SHA-256 hex digest: ``blob_key("abcd" + "0" * 60, ".jpg")`` →
    ``"ab/cd/abcd000…000.jpg"``."""
    if not _HEX64.fullmatch(digest or ""):
        raise InvalidBlobKey(f"not a sha256 hex digest: {str(digest)[:80]!r}")
    if not _SUFFIX.fullmatch(suffix or ""):
        raise InvalidBlobKey(f"bad suffix {str(suffix)[:40]!r}: want e.g. '.jpg' or '.html.gz'")
    return f"{digest[:2]}/{digest[2:4]}/{digest}{suffix or ''}"


def check_key(key: str) -> str:
    """Return `key` if well-formed; raise InvalidBlobKey otherwise (``../``, absolute paths…)."""
    match = _KEY.fullmatch(key or "") if isinstance(key, str) else None
    if not match or match.group(3)[:2] != match.group(1) or match.group(3)[2:4] != match.group(2):
        raise InvalidBlobKey(f"not a blob key: {str(key)[:120]!r}")
    return key


def key_digest(key: str) -> str:
    """The SHA-256 a key was filed under."""
    return _KEY.fullmatch(check_key(key)).group(3)


@runtime_checkable
class BlobStore(Protocol):
    def put(self, data: bytes, *, suffix: str = "", digest: str | None = None) -> str:
        """Store `data` (idempotent) and return its key."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError when absent."""

    def exists(self, key: str) -> bool:
        ...


_TMP_COUNTER = itertools.count()  # temporary file names; next() is atomic in CPython


class LocalBlobStore:
    """Blobs as files under `root`; each written to a temporary file and renamed into place, so a
    reader never sees half a blob and a crash leaves at most a stray ``.tmp`` file.

    fsync=True (default) flushes each blob to disk before it is renamed into place, so a blob a
    database row names survives a power loss; it costs a few ms per new blob (in the pipelines'
    worker threads, not the reactor). ``CLUEWATCH_BLOB_FSYNC=0`` turns it off (benchmarks).

    A writer that names blobs in batched transactions (the crawl's listing store) can instead take
    ``deferring_sync()``, a view of the same store whose put() does not fsync, and call ``sync()``
    once before each commit: one syncfs(2) of the store's filesystem makes every blob written so
    far durable, directory entries included. On the crawl benchmark that is ~9 % of the crawl's
    time, most of which a per-blob fsync spent on kernel round trips and blocked threads.
    """

    def __init__(self, root: str | os.PathLike, *, fsync: bool = True, fsync_each: bool = True):
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self.fsync = fsync
        self.fsync_each = fsync_each

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file of `key` (which need not exist)."""
        return self.root / check_key(key)

    def put(self, data: bytes, *, suffix: str = "", digest: str | None = None) -> str:
        # os calls on str paths and a counter-named temporary file: the crawl writes small blobs on
        # its reactor thread, where pathlib, mkdir(exist_ok) and mkstemp's random names were ~6 %
        # of a crawl's samples.
        key = blob_key(digest or hashlib.sha256(data).hexdigest(), suffix)
        target = os.path.join(self._root, key)
        if os.path.exists(target):
            return key
        fd, tmp = self._create_temporary(os.path.dirname(target), os.path.basename(target))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync and self.fsync_each:
                    f.flush()
                    os.fsync(f.fileno())
                os.fchmod(f.fileno(), 0o644)
            os.replace(tmp, target)  # atomic; a concurrent writer of the same key writes the same bytes
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return key

    def _create_temporary(self, directory: str, name: str) -> tuple[int, str]:
        """A new temporary file next to the blob `name`: (fd, path). Named by process and a
        process-wide counter; a leftover of a crashed process with the same pid is stepped over.
        A missing fan-out directory is made when the create fails for want of it (no mkdir or
        stat on every put)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for _ in range(100):
            tmp = f"{directory}/.{name}.{os.getpid()}.{next(_TMP_COUNTER)}.tmp"
            try:
                return os.open(tmp, flags, 0o600), tmp
            except FileExistsError:
                continue
            except FileNotFoundError:
                os.makedirs(directory, exist_ok=True)
        raise FileExistsError(f"no free temporary file name in {directory}")

    @property
    def puts_are_quick(self) -> bool:
        """Whether put() is a local file write that does not wait for the disk (no per-blob fsync):
        cheap enough for a crawl to do on its reactor thread for small blobs (crawlers.blobs)."""
        return not (self.fsync and self.fsync_each)

    def deferring_sync(self) -> LocalBlobStore:
        """The same store, but put() leaves flushing to an explicit sync() (see the class doc)."""
        return LocalBlobStore(self.root, fsync=self.fsync, fsync_each=False)

    def sync(self) -> None:
        """Make every blob written so far durable (no-op when fsync is off)."""
        if self.fsync:
            sync_filesystem(self.root)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return os.path.isfile(os.path.join(self._root, check_key(key)))


def sync_filesystem(path: str | os.PathLike) -> None:
    """Flush the filesystem that holds `path` to disk: syncfs(2) on Linux, sync(2) elsewhere."""
    syncfs = getattr(_libc(), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs({path}) failed: {os.strerror(errno)}")
    finally:
        os.close(fd)


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


class S3BlobStore:
    """Blobs as objects ``s3://bucket/prefix/<key>`` on any S3-compatible service, through boto3.

    Honest status: no S3 server runs in this project's test environment, so this class is NOT
    exercised against a real S3 here; it is kept deliberately small (put_object / get_object /
    head_object). Credentials come from boto3's usual chain (env, config files, instance role).
    """

    def __init__(self, uri: str, endpoint_url: str | None = None, client=None):
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        if client is None:
            try:
                import boto3  # noqa: PLC0415 - optional dependency
            except ImportError:
                raise RuntimeError(f"CLUEWATCH_BLOB_STORE={uri} needs boto3 (pip install boto3)") from None
            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client = client

    def __repr__(self) -> str:
        return f"S3BlobStore('s3://{self.bucket}/{self.prefix}')"

    def _object(self, key: str) -> str:
        key = check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, data: bytes, *, suffix: str = "", digest: str | None = None) -> str:
        key = blob_key(digest or hashlib.sha256(data).hexdigest(), suffix)
        if not self.exists(key):  # objects are immutable by construction: no need to rewrite
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)
        return key

    def deferring_sync(self) -> S3BlobStore:
        return self  # an acknowledged put_object is already durable

    def sync(self) -> None:
        pass

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - comes with boto3

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise


def blob_store_from_settings(env: dict | None = None, uri: str | None = None) -> BlobStore:
    """The store the environment names (see the module docstring); `uri` overrides it."""
    from cluewatch.settings import Settings  # noqa: PLC0415

    env = os.environ if env is None else env
    uri = uri or env.get("CLUEWATCH_BLOB_STORE") or ""
    fsync = env.get("CLUEWATCH_BLOB_FSYNC", "1").strip().lower() not in ("0", "false", "no", "off")
    if uri.startswith("s3://"):
        return S3BlobStore(uri, endpoint_url=env.get("CLUEWATCH_S3_ENDPOINT_URL"))
    if uri.startswith("file://"):
        return LocalBlobStore(urlsplit(uri).path, fsync=fsync)
    if uri:
        if "://" in uri:
            raise ValueError(f"CLUEWATCH_BLOB_STORE: unsupported scheme in {uri!r} (use a path or s3://)")
        return LocalBlobStore(uri, fsync=fsync)
    return LocalBlobStore(Settings.from_env(env).home / "blobs", fsync=fsync)
