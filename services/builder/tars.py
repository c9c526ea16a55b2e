"""Tar archives byte for byte as Go's ``archive/tar`` writes kpack's layers, and their gzip blobs.

kpack makes three layers itself (``pkg/cnb/builder_builder.go``): a tar ``Writer`` is given one
``tar.Header`` per entry — a name, a mode, a uid and gid, ``ModTime`` 1980-01-01T00:00:01Z — and
closed. What Go writes for such headers, and so what :func:`tar_bytes` writes:

* one 512-byte USTAR header per entry: the name as given (``/workspace``: a leading ``/``, no
  trailing ``/`` on a directory), numbers as zero-padded octal with a closing NUL (``0000755\\0``),
  empty user and group names, magic ``ustar\\0`` and version ``00``, the checksum as six octal
  digits, a NUL and a space;
* a uid or gid too large for its octal field (2097152 and above) makes Go switch to PAX: an
  extended header ``<dir>/PaxHeaders.0/<base>`` (type ``x``) carrying ``gid=`` / ``uid=`` records
  comes first, and the main header holds ``0000000\\0`` in that field;
* a regular file's bytes follow its header, padded with NULs to 512 bytes;
* the archive ends with exactly two zero blocks — no padding to 10240 bytes, which is where
  Python's ``tarfile`` differs (it also appends ``/`` to directory names), hence this module.

Equal tars have equal diffIDs; :func:`gzip_layer` compresses one deterministically (gzip ``mtime``
0) into the blob a registry stores, with its descriptor.

Pure: no I/O.
"""

from __future__ import annotations

import gzip
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts import oci

BLOCK = 512
NORMALIZED_MTIME = int(datetime(1980, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp())
"""kpack's ``normalizedTime`` as seconds since the epoch (315532801)."""
REGULAR = b"0"
DIRECTORY = b"5"
_PAX_HEADER = b"x"
_MAX_OCTAL_ID = 8**7 - 1
"""The largest uid or gid an 8-byte octal field holds (seven digits and a NUL)."""
_NAME_SIZE = 100


@dataclass(frozen=True)
class Entry:
    """One tar entry: a directory, or a regular file with its bytes."""

    name: str
    """Absolute path as written: ``/cnb/order.toml``."""
    typeflag: bytes
    """:data:`REGULAR` or :data:`DIRECTORY`."""
    mode: int
    """Permission bits (``0o755``)."""
    uid: int = 0
    """Owner user id."""
    gid: int = 0
    """Owner group id."""
    content: bytes = b""
    """A regular file's bytes (empty for a directory)."""


def directory(name: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(name=name, typeflag=DIRECTORY, mode=mode, uid=uid, gid=gid)


def regular_file(name: str, content: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(name=name, typeflag=REGULAR, mode=mode, uid=uid, gid=gid, content=content)


def tar_bytes(entries: Iterable[Entry]) -> bytes:
    """The archive Go's ``tar.Writer`` writes for ``entries`` (in order), closed."""
    out = bytearray()
    for entry in entries:
        out += _entry_bytes(entry)
    return bytes(out + bytes(2 * BLOCK))


def _entry_bytes(entry: Entry) -> bytes:
    if not entry.name.isascii() or "\0" in entry.name or len(entry.name) > _NAME_SIZE:
        raise ValueError(f"tar entry name must be ASCII and at most 100 bytes: {entry.name!r}")
    if entry.uid < 0 or entry.gid < 0:
        raise ValueError(f"tar entry ids must not be negative: {entry.name!r}")
    records = {
        key: str(value) for key, value in (("gid", entry.gid), ("uid", entry.uid)) if value > _MAX_OCTAL_ID
    }
    out = bytearray()
    if records:  # Go's writePAXHeader: an extended header first, records in key order
        data = "".join(_pax_record(key, value) for key, value in records.items()).encode()
        head, base = posixpath.split(entry.name)
        pax_name = posixpath.join(head, "PaxHeaders.0", base)[:_NAME_SIZE].rstrip("/")
        out += _header(name=pax_name, typeflag=_PAX_HEADER, mode=0, uid=0, gid=0, size=len(data))
        out += _padded(data)
    uid = 0 if entry.uid > _MAX_OCTAL_ID else entry.uid
    gid = 0 if entry.gid > _MAX_OCTAL_ID else entry.gid
    size = len(entry.content)
    out += _header(
        name=entry.name,
        typeflag=entry.typeflag,
        mode=entry.mode,
        uid=uid,
        gid=gid,
        size=size,
        mtime=NORMALIZED_MTIME,
    )
    return bytes(out + _padded(entry.content))


def _header(*, name: str, typeflag: bytes, mode: int, uid: int, gid: int, size: int, mtime: int = 0) -> bytes:
    """One header block as Go's ``templateV7Plus`` and ``setFormat(USTAR|PAX)`` fill it."""
    block = bytearray(BLOCK)
    block[0 : len(name)] = name.encode()
    block[100:108] = _octal(mode, 8)
    block[108:116] = _octal(uid, 8)
    block[116:124] = _octal(gid, 8)
    block[124:136] = _octal(size, 12)
    block[136:148] = _octal(mtime, 12)
    block[156:157] = typeflag
    block[257:263] = b"ustar\0"
    block[263:265] = b"00"
    block[329:337] = _octal(0, 8)  # devmajor
    block[337:345] = _octal(0, 8)  # devminor
    checksum = sum(block) + 8 * ord(" ")  # the checksum field counts as eight spaces
    block[148:156] = _octal(checksum, 7) + b" "
    return bytes(block)


def _octal(value: int, width: int) -> bytes:
    """Go's ``formatOctal``: zero-padded octal leaving room for a closing NUL."""
    return f"{value:o}".rjust(width - 1, "0").encode() + b"\0"


def _pax_record(key: str, value: str) -> str:
    """Go's ``formatPAXRecord``: ``"<length> <key>=<value>\\n"``, the length counting itself. An
    id's record is 15 to 27 bytes long, so adding the length's own digits never adds a digit."""
    size = len(key) + len(value) + 3
    size += len(str(size))
    return f"{size} {key}={value}\n"


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


@dataclass(frozen=True)
class GzipLayer:
    """A layer kpack makes: the gzip blob, its diffID and its descriptor."""

    blob: bytes
    """The compressed tar, as the registry stores it."""
    diff_id: str
    """``sha256:…`` of the uncompressed tar."""
    descriptor: oci.Descriptor
    """Docker gzip layer media type, the blob's digest and size."""


def gzip_layer(tar: bytes) -> GzipLayer:
    """``tar`` gzipped deterministically (header ``mtime`` 0): equal tars give equal blobs."""
    blob = gzip.compress(tar, compresslevel=9, mtime=0)
    descriptor = oci.Descriptor(
        media_type=oci.DOCKER_LAYER_GZIP, digest=oci.sha256_digest(blob), size=len(blob)
    )
    return GzipLayer(blob=blob, diff_id=oci.sha256_digest(tar), descriptor=descriptor)
