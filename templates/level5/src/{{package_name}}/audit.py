"""The audit trail: an append-only, hash-chained record of who did what to which model, and when.

Each entry holds a sequence number, the time (UTC), who acted, the event (train, register, gate,
promote, reject, compliance, serve, alert, feedback), a JSON payload saying what (run id, version,
metrics, decision), the hash of the previous entry, and its own hash: SHA-256 over a canonical
JSON encoding of everything else. Editing, reordering or deleting an entry breaks the chain, and
`python -m <package> audit verify` names the first entry where it breaks.

The chain alone cannot reveal that its last entries were cut off, so a separate head (a small
file next to the trail, or a one-row table) records the last sequence number and hash; verify
checks the trail ends where the head says.

What this protects against: accidental edits, a hand-edited or deleted line, a truncated file, a
restored old backup. What it does not: someone who can rewrite the trail AND its head can
recompute every hash and forge a consistent history. Against that, copy the head's hash
somewhere they cannot write (a signed git tag, write-once storage, a ticket) and compare.

Two stores behind one interface: a JSON-lines file (default, `governance.audit.path`) and the
SQL database of the prediction log (`governance.audit.store: database`), via SQLAlchemy Core.

The service records its own events with `record`, e.g. at start-up:
    audit.record("serve", params, model=name, version=version)
and for /feedback and alerts: `audit.record("feedback", params, rows=n)`, `audit.record("alert",
params, what="drift", value=0.4, threshold=0.2)`.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from .config import Params, load_params, prediction_log_url

EVENTS = (
    "train",
    "register",
    "gate",
    "promote",
    "reject",
    "compliance",
    "serve",
    "alert",
    "feedback",
    # Level 5: the canary decision and rollbacks (canary.py, rollback.py).
    "canary",
    "rollback",
    "retrain",  # level 5: the loop's retrains (started, skipped, finished), see loop.py
)
GENESIS = "0" * 64  # the "previous hash" of the first entry
APPEND_ATTEMPTS = 10  # concurrent writers to a database retry on a taken sequence number


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str  # ISO 8601, UTC
    who: str
    event: str
    what: dict
    prev: str  # hash of the entry before, GENESIS for the first
    hash: str

    def content(self) -> dict:
        """Everything the hash covers: the entry without its own hash."""
        content = asdict(self)
        del content["hash"]
        return content


@dataclass(frozen=True)
class Head:
    """The last entry as the writer left it: detects entries deleted from the end."""

    seq: int
    hash: str


@dataclass
class Verification:
    entries: int
    problem: str | None = None  # the first thing wrong, naming the entry
    bad_seq: int | None = None  # the sequence number (or position) of the first bad entry

    @property
    def ok(self) -> bool:
        return self.problem is None


def canonical_json(value: object) -> str:
    """One spelling per value (sorted keys, no spaces), so a hash is reproducible anywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(content: dict) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def plain(value: object) -> object:
    """A payload as plain JSON values: numpy numbers become Python numbers, NaN becomes null
    (JSON has no NaN), anything else unknown becomes its text. What is hashed is what is read."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def make_entry(seq: int, prev: str, event: str, who: str, what: dict) -> Entry:
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    content = {"seq": seq, "at": at, "who": who, "event": event, "what": plain(what), "prev": prev}
    return Entry(**content, hash=entry_hash(content))  # type: ignore[arg-type]


def default_actor() -> str:
    """Who is acting: AUDIT_ACTOR (a service's identity), else the git user, else the OS user."""
    return os.environ.get("AUDIT_ACTOR") or local_user()


@cache  # asking git costs a subprocess; the answer does not change while the process runs
def local_user() -> str:
    try:
        email = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        email = ""
    return email or getpass.getuser()


def verify_entries(entries: list[Entry], head: Head | None) -> Verification:
    """Walk the chain from the first entry; stop at the first entry that breaks it."""
    previous = GENESIS
    for position, entry in enumerate(entries, start=1):
        if entry.seq != position:
            problem = (
                f"entry {position} is missing or out of place: entry {entry.seq} comes after "
                f"entry {position - 1} (an entry was deleted or the entries were reordered)"
            )
            return Verification(len(entries), problem, position)
        if entry_hash(entry.content()) != entry.hash:
            problem = (
                f"entry {entry.seq} ({entry.event}) was edited: "
                "its content no longer matches its hash"
            )
            return Verification(len(entries), problem, entry.seq)
        if entry.prev != previous:
            problem = (
                f"entry {entry.seq} ({entry.event}) does not follow from entry {entry.seq - 1}: "
                "an entry before it was edited, replaced or reordered"
            )
            return Verification(len(entries), problem, entry.seq)
        previous = entry.hash
    return check_head(entries, head)


def check_head(entries: list[Entry], head: Head | None) -> Verification:
    last = entries[-1] if entries else None
    if head is None:
        if last is None:
            return Verification(0)
        return Verification(
            len(entries),
            "the head is missing, so entries cut from the end would go unnoticed",
            last.seq,
        )
    if last is None or head.seq > last.seq:
        after = last.seq if last else 0
        problem = (
            f"entry {after + 1} is missing: the head says the trail ends at entry {head.seq} "
            "(entries were deleted from the end)"
        )
        return Verification(len(entries), problem, after + 1)
    if head.seq != last.seq or head.hash != last.hash:
        problem = (
            f"entry {head.seq} differs from the head: the head records hash {head.hash[:12]}, "
            f"the trail ends at entry {last.seq}"
        )
        return Verification(len(entries), problem, head.seq)
    return Verification(len(entries))


class AuditStore(Protocol):
    def append(self, event: str, who: str, what: dict) -> Entry: ...

    def entries(self) -> list[Entry]: ...

    def head(self) -> Head | None: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class FileStore:
    """Entries as JSON lines in one file; the head in `<name>.head.json` beside it. A lock file
    keeps two processes (the service and a pipeline) from appending at the same time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.stem + ".head.json")
        self.lock_path = path.with_name(path.stem + ".lock")

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        pass  # nothing stays open between appends

    def append(self, event: str, who: str, what: dict) -> Entry:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.lock_path):
            head = self.head()
            entry = make_entry(
                head.seq + 1 if head else 1, head.hash if head else GENESIS, event, who, what
            )
            with self.path.open("a", encoding="utf-8") as trail:
                trail.write(canonical_json(asdict(entry)) + "\n")
                trail.flush()
                os.fsync(trail.fileno())
            temporary = self.head_path.with_suffix(".tmp")
            temporary.write_text(
                canonical_json({"seq": entry.seq, "hash": entry.hash}), encoding="utf-8"
            )
            os.replace(temporary, self.head_path)  # atomic: the head is never half-written
        return entry

    def entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        entries = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entries.append(Entry(**json.loads(line)))
            except (ValueError, TypeError) as error:
                raise AuditError(
                    f"line {number} of {self.path} is not an audit entry ({error})"
                ) from None
        return entries

    def head(self) -> Head | None:
        if not self.head_path.exists():
            return None
        return Head(**json.loads(self.head_path.read_text(encoding="utf-8")))


metadata = sa.MetaData()
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    # The sequence number is the key: two writers cannot both append entry n.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    # Stored as the canonical JSON text that was hashed, so reading it back gives the same bytes.
    sa.Column("what", sa.Text, nullable=False),
    sa.Column("prev", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1: one row
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


class SqlStore:
    """Entries as rows of `audit_entries`, the head as the one row of `audit_head`, written in the
    same transaction. Any SQLAlchemy URL: the prediction log's database (SQLite, PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        metadata.create_all(self.engine)

    def describe(self) -> str:
        return str(self.engine.url)  # SQLAlchemy 2 masks the password as ***

    def close(self) -> None:
        self.engine.dispose()

    def append(self, event: str, who: str, what: dict) -> Entry:
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    head = self._head(connection)
                    entry = make_entry(
                        head.seq + 1 if head else 1,
                        head.hash if head else GENESIS,
                        event,
                        who,
                        what,
                    )
                    row = {**asdict(entry), "what": canonical_json(entry.what)}
                    connection.execute(audit_entries.insert().values(**row))
                    if head is None:
                        connection.execute(
                            audit_head.insert().values(id=1, seq=entry.seq, hash=entry.hash)
                        )
                    else:
                        connection.execute(
                            audit_head.update()
                            .where(audit_head.c.id == 1)
                            .values(seq=entry.seq, hash=entry.hash)
                        )
                return entry
            except (sa.exc.IntegrityError, sa.exc.OperationalError):
                # Another writer took this sequence number first (PostgreSQL: a duplicate key;
                # SQLite: "database is locked"): read the new head and retry.
                if attempt == APPEND_ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def entries(self) -> list[Entry]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(audit_entries).order_by(audit_entries.c.seq)
            ).mappings()
            return [Entry(**{**row, "what": json.loads(row["what"])}) for row in rows]

    def head(self) -> Head | None:
        with self.engine.connect() as connection:
            return self._head(connection)

    @staticmethod
    def _head(connection: sa.Connection) -> Head | None:
        row = connection.execute(sa.select(audit_head.c.seq, audit_head.c.hash)).first()
        return Head(row.seq, row.hash) if row else None


class AuditError(Exception):
    """The trail cannot be read at all (a line that is not an entry)."""


def open_store(params: Params) -> AuditStore:
    """The configured store; AUDIT_STORE and AUDIT_PATH override params (tests, CI)."""
    settings = params.governance.audit
    if (os.environ.get("AUDIT_STORE") or settings.store) == "database":
        return SqlStore(prediction_log_url(params))
    return FileStore(params.resolve(os.environ.get("AUDIT_PATH") or settings.path))


def record(
    event: str, /, params: Params | None = None, who: str | None = None, **what: object
) -> Entry:
    """Append one event to the trail: `record("promote", params, model="m", version="3")`."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}: use one of {', '.join(EVENTS)}")
    store = open_store(params or load_params())
    try:
        return store.append(event, who or default_actor(), what)
    finally:
        store.close()


def verify(params: Params) -> Verification:
    store = open_store(params)
    try:
        return verify_entries(store.entries(), store.head())
    except AuditError as error:
        return Verification(0, str(error))
    finally:
        store.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held while appending (fcntl on Linux and macOS, msvcrt on Windows)."""
    with path.open("a+") as handle:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
