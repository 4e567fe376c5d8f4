"""Runners that share a store split a suite's runs by claiming each one in the store before fitting it.

A claim is a row of the store's `claims` table: the run's hash, the runner that holds it (host, pid
and a token that tells it from an earlier process with the same pid) and a heartbeat the runner
refreshes every `HEARTBEAT_S` while it works. Another runner skips a run whose holder is alive and
takes it over when the holder died: its heartbeat is older than `STALE_AFTER_S`, or it ran on this
host and its pid is gone (a SIGKILL is noticed at once). Storing a run drops its claim in the same
transaction, so a run is claimed, stored, or free, never half of two.

`RunQueue` hands a launcher the runs it may fit, one claim at a time, and keeps the runs other
runners hold until they are stored (then they count as done elsewhere) or their holder dies (then
this runner fits them), so every runner of a suite ends with the whole suite stored.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from benchmark.core.runspec import RunSpec
from benchmark.harness.store import ResultStore
from tasks.errors import LiftbenchError

HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0  # six missed heartbeats: the holder is taken for dead
POLL_S = 1.0  # how often a runner looks again at runs that others hold


@dataclass(frozen=True)
class Claimant:
    """One runner process: its host, its pid, and a token unique to this runner."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def holder_is_dead(
    host: str, pid: int, heartbeat: float, me: Claimant, now: float, stale_after_s: float
) -> bool:
    """Whether a claim may be taken over: a stale heartbeat, or a holder on this host whose pid is gone."""
    return now - heartbeat > stale_after_s or (host == me.host and pid != me.pid and not _pid_alive(pid))


def claim_run(
    store: ResultStore,
    run_hash: str,
    me: Claimant,
    *,
    stored_since: str,
    rerun_stored: bool,
    stale_after_s: float = STALE_AFTER_S,
) -> str:
    """Try to claim a run: "claimed", "held" (a live runner has it) or "stored" (nothing left to do).

    A run counts as stored when it is stored ok (unless `rerun_stored`: --force, or a stored result
    whose effective configuration differs from what would run now) or when any
    runner stored it, ok or failed, since `stored_since` (this runner's start): a run another runner
    tried in this same session is not tried twice.
    """
    with store.write_transaction() as conn:
        row = conn.execute("SELECT status, created_at FROM runs WHERE run_hash = ?", (run_hash,)).fetchone()
        if row is not None and ((row[0] == "ok" and not rerun_stored) or row[1] >= stored_since):
            return "stored"
        held = conn.execute(
            "SELECT owner, host, pid, heartbeat FROM claims WHERE run_hash = ?", (run_hash,)
        ).fetchone()
        now = time.time()
        if held is not None and held[0] != me.token:
            if not holder_is_dead(held[1], held[2], held[3], me, now, stale_after_s):
                return "held"
        conn.execute(
            "INSERT OR REPLACE INTO claims (run_hash, owner, host, pid, claimed_at, heartbeat)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_hash, me.token, me.host, me.pid, _utc_now(), now),
        )
        return "claimed"


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunQueue:
    """The runs of a suite that this runner should fit, each claimed in the store as it is handed out.

    `next()` gives a claimed run, or None when every run left is held by a live runner (or there is
    none left); `finished` says whether any run is left at all; `wait()` pauses before asking again.
    Without a store (a rank that does not write, or a launcher's own tests) it hands out every run.
    `close()` stops the heartbeat and releases the claims this runner still holds.
    """

    def __init__(
        self,
        runs: Sequence[RunSpec],
        store: ResultStore | None = None,
        *,
        rerun: Collection[str] = (),
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.pending = list(runs)
        self.store = store
        self.rerun = set(
            rerun
        )  # hashes whose stored ok result is to be done again (--force, a changed config)
        self.stale_after_s = stale_after_s
        self.poll_s = poll_s
        self.me = Claimant()
        self.started = _utc_now()
        self.done_elsewhere = 0  # runs another runner stored while this one ran
        self.held_elsewhere = False  # whether, at the last look, live runners held runs left to do
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat, args=(heartbeat_s,), name="claims-heartbeat", daemon=True
        )
        if store is not None:
            self._heartbeat.start()

    @property
    def finished(self) -> bool:
        return not self.pending

    @property
    def poll_timeout(self) -> float | None:
        """How long a launcher may block on its own runs: bounded only while other runners hold some."""
        return self.poll_s if self.held_elsewhere else None

    def next(self) -> RunSpec | None:
        """The first pending run this runner could claim, or None."""
        if self.store is None:
            return self.pending.pop(0) if self.pending else None
        self.held_elsewhere = False
        for spec in list(self.pending):
            outcome = claim_run(
                self.store,
                spec.hash,
                self.me,
                stored_since=self.started,
                rerun_stored=spec.hash in self.rerun,
                stale_after_s=self.stale_after_s,
            )
            if outcome == "held":
                self.held_elsewhere = True
                continue
            self.pending.remove(spec)
            if outcome == "claimed":
                return spec
            self.done_elsewhere += 1
        return None

    def wait(self) -> None:
        time.sleep(self.poll_s)

    def close(self) -> None:
        if self.store is None:
            return
        self._stop.set()
        self._heartbeat.join()
        # Best effort: a claim left behind (the store refused the write) is freed once this pid is
        # gone (same host) or its heartbeat is stale (other hosts).
        with contextlib.suppress(LiftbenchError), self.store.write_transaction() as conn:
            conn.execute("DELETE FROM claims WHERE owner = ?", (self.me.token,))

    def _beat(self, every_s: float) -> None:
        """Refresh this runner's claims until closed (a thread, with its own store connection)."""
        assert self.store is not None
        try:
            while not self._stop.wait(every_s):
                # A beat the store refuses (busy, full) is retried at the next one.
                with contextlib.suppress(LiftbenchError), self.store.write_transaction() as conn:
                    conn.execute(
                        "UPDATE claims SET heartbeat = ? WHERE owner = ?", (time.time(), self.me.token)
                    )
        finally:
            self.store.close()
