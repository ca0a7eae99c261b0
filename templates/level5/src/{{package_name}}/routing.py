"""Which model answers a request (champion or canary), and the challenger scored in shadow.

Canary: a share `serving.canary_share` of requests is answered by the `canary` alias's model.
The share is drawn from a stable hash of a request key (the `serving.sticky_key_header` header,
else the request id), so one client always meets the same model while the share holds, across
requests, restarts and replicas. The answer names its role and version.

Shadow: with `serving.shadow` on, the `challenger` alias's model scores the same inputs in a
process of its own: the request only appends them to a list (well under a microsecond); every
`SHADOW_BATCH_SECONDS` a thread packs what piled up into one `ShadowBatch` per challenger version
(one array of inputs, one list of request ids) and sends it to the shadow process, which scores it
in one call and writes the answers to the prediction log with role `shadow`, through a log writer
of its own. The client never sees them.
Why pack: the message is pickled to cross to the process, and pickling is one C call that holds
the interpreter lock (GIL) until it is done, however long a request waits for it. 250 requests
as 250 objects, each with its own small array, took 0.7-6 ms to pickle; packed into one array
and one list, 0.03-0.05 ms (measured here), so no request waits behind a hand-off.
Why a process and not a thread: a thread of the service holds the interpreter lock (GIL) while it
scores, and a request that arrives meanwhile waits for it; that raised the champion's p99 by
20-45%. A process has its own interpreter, and it runs at a lower CPU priority, so on a busy
machine the operating system serves the service first. The process loads the challenger itself
(memory for a second copy of it and of the libraries) and starts in a few seconds, off the
request path. When its queue is full (the machine cannot keep up) requests are skipped,
counted in `dropped` and logged, rather than hold the champion up. On shutdown the service lets
it score and write out what is queued (at most 30 s); what is left is counted in `dropped`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd

from .prediction_log import PredictionLog, Served
from .reload import LiveModels

if TYPE_CHECKING:
    from .service import ServedModel

logger = logging.getLogger(__name__)

SHADOW_BATCH_SECONDS = 0.5
SHADOW_MAX_QUEUED = 10_000  # requests waiting to be sent; beyond it they are skipped
SHADOW_MAX_BATCHES = 20  # batches sent and not yet scored; beyond it a batch is skipped
# Where Linux offers it, the shadow runs as SCHED_IDLE: only on CPU time nobody else wants, and a
# request that wakes up takes its core at once. Niceness 10 (elsewhere, and the measured step
# before) weighs it at a tenth of the service, but a request could still wait for the rest of the
# shadow's time slice: with it the champion's p99 rose by 4-47% on 2 loaded cores.
SHADOW_NICENESS = 10
STOP = "stop"  # put on the queue by close(): a string, since it crosses to another process


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


@dataclass(frozen=True)
class ShadowBatch:
    """Requests for one challenger version, packed to cross to the shadow process cheaply."""

    name: str  # the registered model
    version: str  # the challenger version that scores them
    request_ids: list[str]
    created_at: list[float]  # when each request came: its shadow rows line up with the champion's
    row_counts: list[int]  # rows of each request, in order
    values: np.ndarray  # the rows of every request, one after the other

    @classmethod
    def pack(cls, name: str, version: str, requests: list[ShadowRequest]) -> ShadowBatch:
        return cls(
            name,
            version,
            [request.request_id for request in requests],
            [request.created_at for request in requests],
            [len(request.values) for request in requests],
            np.concatenate([request.values for request in requests]),
        )


class ShadowScorer:
    """Hands requests to a shadow process that scores them with the live challenger (see above).

    The parent decides what to score (it follows the `challenger` alias through `live`); the
    process loads that version itself, scores, and writes the rows through its own log writer.
    """

    def __init__(self, live: LiveModels, log_url: str, features: list[str]) -> None:
        self.live = live
        self.log_url = log_url
        self.features = list(features)
        self.submitted = 0  # requests put on the queue
        self.dropped = 0  # skipped because the queue was full, or never scored at shutdown
        self._skipped_at_send = 0  # of the submitted, those dropped because the process lagged
        self._pending: deque[tuple[str, str, ShadowRequest]] = deque()  # thread-safe ends
        self._stop_sending = threading.Event()
        self._sender = threading.Thread(target=self._send, name="shadow-sender", daemon=True)
        context = multiprocessing.get_context("spawn")  # fork would copy the service's threads
        self._queue = context.Queue(maxsize=SHADOW_MAX_BATCHES)
        self._scored = context.Value("q", 0)  # written by the shadow process
        self._failed = context.Value("q", 0)
        self._process = context.Process(
            target=score_in_shadow,
            args=(self._queue, mlflow.get_tracking_uri(), log_url, self.features),
            kwargs={"scored": self._scored, "failed": self._failed},
            name="shadow-scorer",
            daemon=True,  # never outlives the service, even one that dies without closing it
        )

    @property
    def scored(self) -> int:
        return self._scored.value

    @property
    def failed(self) -> int:
        return self._failed.value

    def submit(self, request: ShadowRequest) -> None:
        """Cheap and never blocking: a full list skips the request (counted, logged once)."""
        challenger = self.live.challenger  # read once: the version this request is scored by
        if challenger is None or challenger.version == request.answered_by:
            return  # no challenger, or it answered already: not scored twice
        if len(self._pending) >= SHADOW_MAX_QUEUED:
            self._skip(1)
            return
        self._pending.append((challenger.card.name, challenger.version, request))
        self.submitted += 1

    def _skip(self, count: int) -> None:
        if self.dropped == 0:
            logger.warning("the shadow falls behind: requests are skipped (counted in dropped)")
        self.dropped += count

    def start(self) -> None:
        self._process.start()
        self._sender.start()

    def _send(self) -> None:
        """Every SHADOW_BATCH_SECONDS, what piled up goes to the process as one message."""
        while not self._stop_sending.wait(SHADOW_BATCH_SECONDS):
            self._send_pending()
        self._send_pending()  # the last requests, before close() says stop

    def _send_pending(self) -> None:
        pending = [self._pending.popleft() for _ in range(len(self._pending))]
        if not pending:
            return
        batches = [
            ShadowBatch.pack(name, version, requests)
            for (name, version), requests in by_version(pending).items()
        ]
        try:
            self._queue.put_nowait(batches)
        except queue.Full:  # the process is that far behind: skip rather than pile up memory
            self._skip(len(pending))
            self._skipped_at_send += len(pending)

    def close(self, timeout: float = 30.0) -> None:
        """Let the process score what is queued and write it out, then stop it (before the
        service's own log closes). What it could not score in `timeout` is counted in dropped."""
        if self._process.pid is None:
            return
        self._stop_sending.set()
        self._sender.join()
        if self.submitted == 0:  # nothing to score: no need to wait for the process to start up
            self._process.kill()
            self._process.join()
            self._queue.close()
            return
        with contextlib.suppress(queue.Full):  # a queue that stays full: the timeout below
            self._queue.put(STOP, timeout=timeout)
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()  # not terminate(): the process ignores SIGTERM (see below)
            self._process.join()
        self._release_queue()
        # Every submitted request is scored, failed or dropped: what the process never reported
        # (killed while starting, say) counts as dropped, so the numbers always add up.
        left = self.submitted - self._skipped_at_send - self.scored - self.failed
        if left:
            self.dropped += left
            logger.warning("the shadow stopped with %d requests not scored", left)
        logger.info(
            "shadow: %d requests scored, %d skipped, %d failed",
            self.scored,
            self.dropped,
            self.failed,
        )

    def _release_queue(self) -> None:
        """Let go of the queue: nobody reads it any more, so do not wait on it at exit."""
        self._queue.cancel_join_thread()
        self._queue.close()


def score_in_shadow(
    requests: multiprocessing.Queue,
    tracking_uri: str,
    log_url: str,
    features: list[str],
    scored: Any,
    failed: Any,
) -> None:
    """The shadow process: score what the service queues, every SHADOW_BATCH_SECONDS, until STOP."""
    # Ctrl-C in a terminal, and systemd's SIGTERM, reach every process of the group: the service
    # decides when the shadow stops (after its requests have drained), so these are ignored here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lower_priority()
    mlflow.set_tracking_uri(tracking_uri)
    log = PredictionLog(log_url, features)
    log.start()
    models: dict[tuple[str, str], Any] = {}
    try:
        stop = False
        while not stop:
            batches, stop = next_batches(requests)
            for batch in batches:
                score(batch, models, log, scored, failed)
    finally:
        log.close()  # write out every shadow row before the process ends


def lower_priority() -> None:
    """The scheduler serves the service first (threads started after this inherit it)."""
    if hasattr(os, "SCHED_IDLE"):  # Linux
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    elif hasattr(os, "nice"):  # other Unix
        os.nice(SHADOW_NICENESS)


def next_batches(requests: multiprocessing.Queue) -> tuple[list[ShadowBatch], bool]:
    """What piled up in SHADOW_BATCH_SECONDS, and whether to stop after scoring it.

    Sleeping and then taking everything wakes the process twice a second, not once per request.
    """
    time.sleep(SHADOW_BATCH_SECONDS)
    batches: list[ShadowBatch] = []
    while True:
        try:
            item = requests.get_nowait()
        except queue.Empty:
            break
        if item == STOP:
            return batches, True
        batches.extend(item)
    parent = multiprocessing.parent_process()
    return batches, parent is not None and not parent.is_alive()  # a killed service: stop too


def by_version(pending: list[tuple[str, str, ShadowRequest]]) -> dict[tuple[str, str], list]:
    """Requests grouped by the challenger version chosen for each (one, bar a swap)."""
    groups: dict[tuple[str, str], list[ShadowRequest]] = {}
    for name, version, request in pending:
        groups.setdefault((name, version), []).append(request)
    return groups


def score(
    batch: ShadowBatch,
    models: dict[tuple[str, str], Any],
    log: PredictionLog,
    scored: Any,
    failed: Any,
) -> None:
    """Score `batch` with its challenger version in one call and log the answers as `shadow`."""
    key = (batch.name, batch.version)
    try:
        if key not in models:
            models.clear()  # only the newest challenger is kept in memory
            models[key] = mlflow.sklearn.load_model(f"models:/{batch.name}/{batch.version}")
        # A DataFrame with the feature names, as the model was fitted on: scikit-learn has nothing
        # to warn about.
        frame = pd.DataFrame(batch.values, columns=log.features)
        predictions = models[key].predict(frame).tolist()
    except Exception:
        failed.value += len(batch.request_ids)
        logger.exception("the challenger (version %s) could not score", batch.version)
        return
    start = 0
    for request_id, created_at, count in zip(
        batch.request_ids, batch.created_at, batch.row_counts, strict=True
    ):
        log.record(
            Served(
                request_id,
                batch.version,
                created_at,  # when the request came: rows of one request line up
                batch.values[start : start + count],
                predictions[start : start + count],
                role="shadow",
            )
        )
        start += count
    scored.value += len(batch.request_ids)
