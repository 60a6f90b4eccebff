"""Archives the node hands out: one zip of plain files, written as a stream to a temporary
file beside its destination and renamed into place when whole (never a half-written archive
under the name asked for, never an existing file replaced), optionally with a manifest (every
file's SHA-256 and size) and a detached signature of the manifest by the node's instance key.

The zip is canonical: every file stored as it is (no compression), ASCII names, one fixed
timestamp and fixed attributes, no extra fields, no comments. So `verify_archive` can demand
that every byte be either one of those fixed values, a length or offset it can check, or a byte
of a file whose SHA-256 the signed manifest gives: changing any single byte of an archive makes
it fail. (A compressed stream could decode to the same bytes after a change: it is not used.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from storage.errors import Conflict, Invalid

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
ALGORITHM = "RSASSA-PKCS1-v1_5 SHA-256"
FORMAT = "atrium-export/1"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_MANIFEST = 64 * 1024 * 1024
CHUNK = 1024 * 1024

# The fixed fields of every entry (what `zipfile` writes for a stored file given them).
_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1
_VERSION = 20  # zipfile's DEFAULT_VERSION: made by and needed to extract
_UNIX = 3
_MODE = 0o100644 << 16
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or ".." in name.split("/"):
        raise ValueError(f"not an archive file name: {name!r}")
    return name


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    bytes: int


class Sink:
    """One file being written into the archive: counted and hashed as it goes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self._hash.update(data)
        self.size += len(data)

    def line(self, record: dict[str, Any]) -> None:
        """One JSON Lines record."""
        self.write(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str).encode() + b"\n")

    def digest(self) -> str:
        return self._hash.hexdigest()


@dataclass
class ArchiveWriter:
    """A zip being written to a temporary file beside `destination`; `finish` renames it there
    (refusing an existing file), `abort` (or leaving the `writing` block by an error) removes it."""

    destination: Path
    files: list[FileEntry] = field(default_factory=list)
    finished: bool = False

    def __post_init__(self) -> None:
        folder = self.destination.parent
        if not folder.is_dir():
            raise Invalid(f"{folder} is not a directory")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.destination.name}.", suffix=".part")
        self._tmp = Path(tmp)
        self._raw = os.fdopen(fd, "w+b")
        self._zip = zipfile.ZipFile(self._raw, "w", compression=zipfile.ZIP_STORED, allowZip64=False)

    @contextmanager
    def open(self, name: str) -> Iterator[Sink]:
        """Write one file of the archive, as a stream."""
        info = zipfile.ZipInfo(check_name(name), date_time=_DATE_TIME)
        info.compress_type, info.create_system, info.external_attr = zipfile.ZIP_STORED, _UNIX, _MODE
        try:
            with self._zip.open(info, "w") as handle:
                sink = Sink(handle)
                yield sink
        except (zipfile.LargeZipFile, RuntimeError):
            raise Invalid("the archive would pass the zip format's 4 GiB: export less at once (--since, --until)") from None
        self.files.append(FileEntry(name, sink.digest(), sink.size))

    def add(self, name: str, data: bytes) -> None:
        with self.open(name) as sink:
            sink.write(data)

    def sign(self, manifest: dict[str, Any], private_key_pem: str) -> None:
        """Write the manifest (with every file so far) and its detached signature."""
        body = dict(manifest, files=[{"path": f.path, "sha256": f.sha256, "bytes": f.bytes} for f in self.files])
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise Invalid("the instance key is not an RSA key")
        body["signature"] = {"algorithm": ALGORITHM, "key_sha256": key_fingerprint(key.public_key())}
        data = json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1).encode() + b"\n"
        self.add(MANIFEST, data)
        self.add(SIGNATURE, key.sign(data, padding.PKCS1v15(), hashes.SHA256()))

    def finish(self) -> Path:
        """Close the zip and give it its name; `Conflict` if a file took that name meanwhile."""
        try:
            self._zip.close()
        except zipfile.LargeZipFile:
            self.abort()
            raise Invalid("the archive would pass the zip format's 4 GiB: export less at once (--since, --until)") from None
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        try:
            os.link(self._tmp, self.destination)  # never replaces: fails if the name is taken
            self.finished = True
        except FileExistsError:
            raise Conflict(f"{self.destination} exists: choose another file name") from None
        finally:
            self._tmp.unlink(missing_ok=True)
        return self.destination

    def abort(self) -> None:
        try:
            self._zip.close()
        except Exception:  # noqa: BLE001 - the archive is being thrown away
            pass
        self._raw.close()
        self._tmp.unlink(missing_ok=True)


@contextmanager
def writing(destination: Path) -> Iterator[ArchiveWriter]:
    """An `ArchiveWriter` for `destination` (refused at once if the file exists); removed
    again if the block fails or ends without `finish`."""
    if destination.exists() or destination.is_symlink():
        raise Conflict(f"{destination} exists: choose another file name")
    writer = ArchiveWriter(destination)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    if not writer.finished:  # left without `finish`: nothing is kept
        writer.abort()


def key_fingerprint(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes | str) -> rsa.RSAPublicKey:
    """The verifier's trusted key; `Invalid` for anything that is not an RSA public key in PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise Invalid("the key is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Invalid("the key is not an RSA public key")
    return key


# --- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    offset: int  # of its data
    size: int
    crc: int


@dataclass(frozen=True)
class Verified:
    files: int
    manifest: dict[str, Any]


def _fail(reason: str) -> Invalid:
    return Invalid(f"verification failed: {reason}")


def _read_at(f: IO[bytes], offset: int, n: int) -> bytes:
    f.seek(offset)
    data = f.read(n)
    if len(data) != n:
        raise _fail("the archive is cut short")
    return data


def _entries(f: IO[bytes], size: int) -> list[_Entry]:
    """Every file of a canonical archive, checked byte by byte but for the files' contents."""
    if size < _END.size:
        raise _fail("not a zip archive")
    end = _read_at(f, size - _END.size, _END.size)
    sig, disk, cd_disk, count, total, cd_size, cd_offset, comment = _END.unpack(end)
    if (sig, disk, cd_disk, comment) != (b"PK\x05\x06", 0, 0, 0) or count != total:
        raise _fail("the archive's end record was altered (or it is no Atrium export)")
    if cd_offset + cd_size + _END.size != size:
        raise _fail("the archive's directory does not end where the archive ends")
    central = _read_at(f, cd_offset, cd_size)
    entries: list[_Entry] = []
    at, local_at = 0, 0
    for _ in range(count):
        if at + _CENTRAL.size > len(central):
            raise _fail("the archive's directory is cut short")
        fields = _CENTRAL.unpack_from(central, at)
        name_len = fields[12]
        raw_name = central[at + _CENTRAL.size: at + _CENTRAL.size + name_len]
        crc, size_u = fields[9], fields[11]  # the stored size is checked equal to it below
        expected = _CENTRAL.pack(b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, 0, 0, _DOS_TIME, _DOS_DATE,
                                 crc, size_u, size_u, name_len, 0, 0, 0, 0, _MODE, local_at)
        if fields != _CENTRAL.unpack(expected) or len(raw_name) != name_len:
            raise _fail(f"the archive's directory was altered (entry {len(entries) + 1})")
        try:
            name = check_name(raw_name.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise _fail("the archive names a file it may not") from None
        local = _read_at(f, local_at, _LOCAL.size + name_len)
        if local != _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, 0, _DOS_TIME, _DOS_DATE, crc, size_u, size_u,
                                name_len, 0) + raw_name:
            raise _fail(f"the header of {name} was altered")
        entries.append(_Entry(name, local_at + _LOCAL.size + name_len, size_u, crc))
        local_at += _LOCAL.size + name_len + size_u
        at += _CENTRAL.size + name_len
    if at != len(central) or local_at != cd_offset:
        raise _fail("the archive holds bytes outside its files")
    return entries


def _digest(f: IO[bytes], entry: _Entry) -> str:
    f.seek(entry.offset)
    left, h, crc = entry.size, hashlib.sha256(), 0
    while left:
        chunk = f.read(min(CHUNK, left))
        if not chunk:
            raise _fail("the archive is cut short")
        h.update(chunk)
        crc = zlib.crc32(chunk, crc)
        left -= len(chunk)
    if crc != entry.crc:
        raise _fail(f"{entry.name} was altered (its checksum differs)")
    return h.hexdigest()


def verify_archive(path: Path, key: rsa.RSAPublicKey) -> Verified:
    """Check an archive against a key the verifier trusts (never one the archive carries): its
    manifest's signature, then every file's SHA-256, and that it holds exactly the files its
    manifest names. `Invalid` with the first difference found."""
    try:
        f = path.open("rb")
    except OSError as exc:
        raise Invalid(f"cannot read {path}: {exc.strerror}") from None
    with f:
        entries = _entries(f, os.fstat(f.fileno()).st_size)
        by_name = {e.name: e for e in entries}
        if len(by_name) != len(entries):
            raise _fail("the archive names a file twice")
        if MANIFEST not in by_name or SIGNATURE not in by_name:
            raise _fail(f"the archive has no {MANIFEST} or no {SIGNATURE}")
        manifest_entry, signature_entry = by_name[MANIFEST], by_name[SIGNATURE]
        if manifest_entry.size > MAX_MANIFEST:
            raise _fail("the manifest is too large")
        manifest_bytes = _read_at(f, manifest_entry.offset, manifest_entry.size)
        signature = _read_at(f, signature_entry.offset, min(signature_entry.size, 4096))
        if zlib.crc32(manifest_bytes) != manifest_entry.crc or zlib.crc32(signature) != signature_entry.crc:
            raise _fail("the manifest or its signature was altered (its checksum differs)")
        try:
            key.verify(signature, manifest_bytes, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise _fail("the manifest's signature does not match the trusted key "
                        "(altered, or signed by another key)") from None
        manifest = _manifest(manifest_bytes)
        listed = {item["path"]: item for item in manifest["files"]}
        present = set(by_name) - {MANIFEST, SIGNATURE}
        if missing := sorted(set(listed) - present):
            raise _fail(f"{missing[0]} is in the manifest but not in the archive")
        if extra := sorted(present - set(listed)):
            raise _fail(f"{extra[0]} is in the archive but not in the manifest")
        for entry in entries:
            if entry.name in (MANIFEST, SIGNATURE):
                continue
            item = listed[entry.name]
            if entry.size != item["bytes"] or _digest(f, entry) != item["sha256"]:
                raise _fail(f"{entry.name} differs from the manifest (its SHA-256 or size)")
    return Verified(len(listed), manifest)


def _manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        if not all(isinstance(i["path"], str) and isinstance(i["sha256"], str) and isinstance(i["bytes"], int)
                   for i in files):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise _fail("the manifest is not one this version reads") from None
    if not isinstance(manifest, dict):
        raise _fail("the manifest is not one this version reads")
    return manifest

