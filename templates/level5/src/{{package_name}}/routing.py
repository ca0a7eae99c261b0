"""Which model answers a request (champion or canary), and the challenger scored in shadow.

Canary: a share `serving.canary_share` of requests is answered by the `canary` alias's model.
The share is drawn from a stable hash of a request key (the `serving.sticky_key_header` header,
else the request id), so one client always meets the same model while the share holds, across
requests, restarts and replicas. The answer names its role and version.

Shadow: with `serving.shadow` on, the `challenger` alias's model scores the same inputs off the
request path: the request only puts them on a queue; a background thread scores what piled up
every `SHADOW_BATCH_SECONDS` in one call and writes the answers to the prediction log with role
`shadow`. The client never sees them. Scoring a batch costs about what one row costs (a forest's
time goes into walking each tree), so the champion's latency barely moves; when the queue is full
the shadow skips requests (counted in `dropped`) rather than hold the champion up.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .prediction_log import PredictionLog, Served
from .reload import LiveModels

if TYPE_CHECKING:
    from .service import ServedModel

logger = logging.getLogger(__name__)

SHADOW_BATCH_SECONDS = 0.5
# While the shadow scores, the request thread waits for the interpreter lock (GIL); Python hands
# it over every switch interval, 5 ms by default: a champion request arriving mid-batch could wait
# longer than its own few milliseconds. 0.5 ms bounds that wait to a fraction of a request.
SHADOW_SWITCH_INTERVAL = 0.0005
SHADOW_MAX_QUEUED = 10_000  # requests waiting for the shadow; beyond it they are skipped
_STOP = object()


def share_of(key: str) -> float:
    """A number in [0, 1) fixed by `key`: the same on every machine and run (unlike hash())."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Choice:
    role: str  # champion or canary
    served: ServedModel


class Router:
    """Picks the model for each request from one read of each live reference."""

    def __init__(self, live: LiveModels, canary_share: float, key_header: str) -> None:
        self.live = live
        self.canary_share = canary_share
        self.key_header = key_header

    def choose(self, headers: Mapping[str, str], request_id: str) -> Choice:
        champion, canary = self.live.champion, self.live.canary  # read once, used throughout
        if champion is None:
            raise RuntimeError("no champion loaded")  # create_app only routes with one
        if canary is None or canary.version == champion.version:
            return Choice("champion", champion)
        key = headers.get(self.key_header) or request_id
        if share_of(key) < self.canary_share:
            return Choice("canary", canary)
        return Choice("champion", champion)


@dataclass(frozen=True)
class ShadowRequest:
    request_id: str
    created_at: float
    values: np.ndarray  # the model input the answering model got
    answered_by: str  # its version: a challenger of the same version is not scored twice


class ShadowScorer:
    """Scores queued requests with the live challenger in a background thread (see above)."""

    def __init__(self, live: LiveModels, prediction_log: PredictionLog) -> None:
        self.live = live
        self.prediction_log = prediction_log
        self.scored = 0
        self.dropped = 0  # skipped because the queue was full
        self.failed = 0  # requests the challenger could not score
        self._queue: queue.Queue = queue.Queue(maxsize=SHADOW_MAX_QUEUED)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, request: ShadowRequest) -> None:
        """Cheap and never blocking: a full queue skips the request."""
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            self.dropped += 1

    def start(self) -> None:
        sys.setswitchinterval(SHADOW_SWITCH_INTERVAL)  # process-wide: see above
        self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Score what is queued, then stop (before the prediction log closes)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(SHADOW_BATCH_SECONDS)
            self._wake.clear()
            pending, stop = self._drain()
            self._score(pending)
            if stop:
                return

    def _drain(self) -> tuple[list[ShadowRequest], bool]:
        pending: list[ShadowRequest] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return pending, False
            if item is _STOP:
                return pending, True
            pending.append(item)

    def _score(self, pending: list[ShadowRequest]) -> None:
        challenger = self.live.challenger  # one version for the whole batch
        if challenger is None:
            return
        pending = [item for item in pending if item.answered_by != challenger.version]
        if not pending:
            return
        try:
            predictions = challenger.predict_off_loop(np.concatenate([i.values for i in pending]))
        except Exception:
            self.failed += len(pending)
            logger.exception("the challenger (version %s) could not score", challenger.version)
            return
        start = 0
        for item in pending:
            count = len(item.values)
            self.prediction_log.record(
                Served(
                    item.request_id,
                    challenger.version,
                    item.created_at,  # when the request came: rows of one request line up
                    item.values,
                    predictions[start : start + count],
                    role="shadow",
                )
            )
            start += count
        self.scored += len(pending)
