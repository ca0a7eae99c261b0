"""Hot reload: the service follows the registry's aliases and swaps in new models, no restart.

A background thread polls the registry every `serving.reload_seconds`. When an alias it follows
(`champion` always; `canary` while serving.canary_share is above 0; `challenger` while
serving.shadow is on) points at another version, the thread loads that version, checks that it
takes the features the service's request schema was built from, warms it with one prediction, and
only then replaces one reference in `LiveModels`. Nothing of this happens on the request path.

Why no request fails or mixes versions: a request reads the reference once and uses the model it
got for its whole answer (see routing.py); the old model lives on until the last request holding
it is done. A version that fails to load, to fit the schema or to warm is never swapped in: the
old one keeps serving, the error is logged and counted (`model_reloads_total{outcome="failed"}`),
and that version is not tried again until its alias moves (or the service restarts). An alias
that disappears turns its role off; the champion's never does: the last champion keeps serving.

A service started before any champion exists (the service and the loop started together) polls
all the same: the first champion the alias points at is loaded, warmed and prepared for
(`before_swap`: the service builds its request schema and routes from it), then swapped in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from prometheus_client import CollectorRegistry, Counter

from .config import Params

if TYPE_CHECKING:
    from .service import ServedModel

logger = logging.getLogger(__name__)

# role -> the registry alias its model comes from.
ALIASES = {"champion": "champion", "canary": "canary", "challenger": "challenger"}


@dataclass
class LiveModels:
    """The models the service answers with, one reference per role; None turns a role off.

    Each attribute is replaced whole, never changed in place: reading one is atomic.
    """

    champion: ServedModel | None = None
    canary: ServedModel | None = None
    challenger: ServedModel | None = None  # scored in shadow, never returned


def alias_versions(params: Params) -> dict[str, str]:
    """Every alias of the registered model and its version, in one registry call."""
    try:
        aliases = MlflowClient().get_registered_model(params.registry.model_name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise
    return {alias: str(version) for alias, version in aliases.items()}


def default_loader(params: Params, version: str) -> ServedModel:
    from .service import load_version  # here: service.py imports this module

    return load_version(params, version)


def same_schema(new: ServedModel, reference: ServedModel) -> bool:
    """The request schema is built once, at start: a swapped-in model must take the same input
    and answer in the same terms (the same classes, which the metrics count per class)."""
    fields = {name: field.annotation for name, field in new.row_model.model_fields.items()}
    wanted = {name: field.annotation for name, field in reference.row_model.model_fields.items()}
    classes, known = new.classes, reference.classes
    same_classes = (classes is None and known is None) or (
        classes is not None and known is not None and classes.tolist() == known.tolist()
    )
    return fields == wanted and new.prediction_type == reference.prediction_type and same_classes


def warm(served: ServedModel) -> None:
    """One prediction before the swap: a model that cannot answer is caught here, not by a client,
    and the first real request does not pay for lazily built state."""
    example = served.card.input_example or {}
    row = tuple(example.get(name) for name in served.features)
    predictions = served.predict_off_loop(served.model_input([row]))
    if len(predictions) != 1:
        raise ValueError(f"warm-up gave {len(predictions)} predictions for one row")


class ChampionWatcher:
    """Polls the aliases and swaps new versions into `live` (see the module docstring)."""

    def __init__(
        self,
        params: Params,
        live: LiveModels | None = None,
        metrics_registry: CollectorRegistry | None = None,
        loader: Callable[[Params, str], ServedModel] = default_loader,
        on_swap: Callable[[str, ServedModel | None], None] | None = None,
        before_swap: Callable[[str, ServedModel], None] | None = None,
    ) -> None:
        self.params = params
        self.live = live if live is not None else LiveModels()
        self.loader = loader
        self.on_swap = on_swap  # after the swap
        self.before_swap = before_swap  # after the warm-up; what it raises stops the swap
        self.failed: dict[str, set[str]] = {role: set() for role in ALIASES}
        self.reloads = Counter(
            "model_reloads",
            "Models the service tried to swap in: outcome swapped or failed (the old one serves)",
            ["role", "outcome"],
            registry=metrics_registry if metrics_registry is not None else CollectorRegistry(),
        )
        self._lock = threading.Lock()  # one check at a time: the thread's or a caller's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def roles(self) -> list[str]:
        """The roles this service follows: what serving.* turns on."""
        serving = self.params.serving
        return [
            "champion",
            *(["canary"] if serving.canary_share > 0 else []),
            *(["challenger"] if serving.shadow else []),
        ]

    def check_now(self) -> bool:
        """Poll once and swap what moved; True when any role now has another model (or none)."""
        with self._lock:
            versions = alias_versions(self.params)
            changed = False
            for role in self.roles():
                changed |= self._follow(role, versions.get(ALIASES[role]))
            return changed

    def _follow(self, role: str, version: str | None) -> bool:
        current: ServedModel | None = getattr(self.live, role)
        if version is None:
            if role == "champion" or current is None:
                return False  # the last champion keeps serving; an absent role stays off
            logger.info("alias %s is gone: the %s role is off", ALIASES[role], role)
            return self._swap(role, None)
        if current is not None and current.version == version:
            return False
        if version in self.failed[role]:
            return False
        try:
            served = self._load(version)
            if self.before_swap is not None:
                self.before_swap(role, served)
        except Exception:
            # Whatever went wrong (registry, artifacts, a broken model), the old model serves on.
            logger.exception("%s version %s not swapped in; the old one serves on", role, version)
            self.failed[role].add(version)
            self.reloads.labels(role, "failed").inc()
            return False
        return self._swap(role, served)

    def _load(self, version: str) -> ServedModel:
        # A version that already serves in another role is shared, not loaded twice.
        for other in (self.live.champion, self.live.canary, self.live.challenger):
            if other is not None and other.version == version:
                return other
        served = self.loader(self.params, version)
        reference = self.live.champion
        if reference is not None and not same_schema(served, reference):
            raise ValueError(
                f"version {version} takes other features or classes than the service's request "
                f"schema ({', '.join(reference.features)}); restart the service to serve it"
            )
        warm(served)
        return served

    def _swap(self, role: str, served: ServedModel | None) -> bool:
        setattr(self.live, role, served)  # the one atomic step
        self.reloads.labels(role, "swapped").inc()
        logger.info("%s is now %s", role, "off" if served is None else f"version {served.version}")
        if self.on_swap is not None:
            self.on_swap(role, served)
        return True

    def start(self) -> None:
        """Poll in a background thread every serving.reload_seconds (0: never)."""
        if self.params.serving.reload_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="champion-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.params.serving.reload_seconds):
            try:
                self.check_now()
            except Exception:
                # The registry may be down for a moment: keep serving, try again next time.
                logger.exception("could not read the registry's aliases; retrying")
