"""A small, bounded pool of SQLite connections shared by threads (and asyncio tasks via ``to_thread``).

Bounded on purpose: the original system's pool of 5 deadlocked when callers held connections across exchange calls,
so here a connection is only ever held for SQL, and a wait for one longer than ``warn_after_s`` (500 ms) is logged
as a warning: it means the pool is too small or someone holds a connection across slow work.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.ports.store import StoreError

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 4
DEFAULT_BUSY_TIMEOUT_S = 5.0
DEFAULT_ACQUIRE_TIMEOUT_S = 10.0
DEFAULT_WARN_AFTER_S = 0.5


class SqlitePool:
    """Connections are opened lazily up to ``max_size`` and reused; ``connection()`` lends one for a block."""

    def __init__(
        self,
        path: Path,
        *,
        max_size: int = DEFAULT_POOL_SIZE,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        acquire_timeout_s: float = DEFAULT_ACQUIRE_TIMEOUT_S,
        warn_after_s: float = DEFAULT_WARN_AFTER_S,
        synchronous: str = "FULL",
    ) -> None:
        if max_size < 1:
            raise ValueError(f"pool size must be at least 1, got {max_size}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = path
        self.max_size = max_size
        self._busy_timeout_s = busy_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._warn_after_s = warn_after_s
        self._synchronous = synchronous
        self._idle: list[sqlite3.Connection] = []
        self._opened = 0
        self._closed = False
        self._cond = threading.Condition()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Lend a connection in autocommit mode; sqlite3 errors inside the block become ``StoreError``."""
        conn = self._acquire()
        healthy = True
        try:
            yield conn
        except sqlite3.Error as exc:
            healthy = _rollback(conn)
            raise StoreError(self._explain(exc)) from exc
        except BaseException:
            healthy = _rollback(conn)
            raise
        finally:
            self._release(conn, healthy)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (BEGIN IMMEDIATE), so two writers never deadlock
        upgrading read locks; committed at the end of the block, rolled back on any error."""
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close idle connections now and lent ones when they come back; later calls raise ``StoreError``."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    def _acquire(self) -> sqlite3.Connection:
        started = time.monotonic()
        deadline = started + self._acquire_timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise StoreError(f"the SQLite store {self.path} is closed")
                if self._idle:
                    conn: sqlite3.Connection | None = self._idle.pop()
                    break
                if self._opened < self.max_size:
                    self._opened += 1
                    conn = None  # opened below, outside the lock: opening a file is I/O
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreError(
                        f"no SQLite connection free after {self._acquire_timeout_s:.1f}s (pool size {self.max_size}) "
                        f"for {self.path}: raise the pool size, or find the caller holding connections"
                    )
                self._cond.wait(remaining)
        if conn is None:
            try:
                conn = self._open()
            except BaseException:
                with self._cond:
                    self._opened -= 1
                    self._cond.notify()
                raise
        waited = time.monotonic() - started
        if waited > self._warn_after_s:
            log.warning(
                "waited %.0f ms for a SQLite connection (pool size %d, %s); the pool is too small for the load "
                "or a caller holds a connection across slow work",
                waited * 1000,
                self.max_size,
                self.path,
            )
        return conn

    def _release(self, conn: sqlite3.Connection, healthy: bool) -> None:
        with self._cond:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(conn)
            else:
                self._opened -= 1
            self._cond.notify()
        if not keep:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the SQLite store {self.path}: {exc}; check the directory exists and is writable"
            ) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            self._ensure_wal(conn)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(self._explain(exc)) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL (readers run beside the one writer). WAL is persistent, so this is usually a read.

        Switching needs an exclusive lock and SQLite does not wait for it (no busy handler), so two connections
        opening a new file at once retry here until one of them has switched it.
        """
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                    return
                mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if mode != "wal":
                raise StoreError(f"{self.path}: SQLite refused WAL mode (got {mode}); use a local disk, not a share")

    def _explain(self, exc: sqlite3.Error) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (
                f"the SQLite store {self.path} stayed locked for over {self._busy_timeout_s:.1f}s ({text}): "
                f"is another process writing to the same file?"
            )
        return f"SQLite error on {self.path}: {text}"


def _rollback(conn: sqlite3.Connection) -> bool:
    """Roll back an open transaction; returns whether the connection is still fit for reuse."""
    if not conn.in_transaction:
        return True
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        return False
    return True
