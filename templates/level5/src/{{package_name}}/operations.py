"""What level 4 adds to the prediction service: API keys, Prometheus metrics, /explain, /feedback.

    POST /explain    one row -> the features that moved the answer most (SHAP, see explain.py)
    POST /feedback   ground-truth labels for served request ids (see feedback.py)
    GET  /metrics    Prometheus metrics (see metrics.py)

Every one of them, /predict and /model included, needs an API key (see auth.py); /health and
/ready stay open. service.py calls `add_operations` once, right after creating the app, and
`audit_serving` when the app starts serving.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.

import asyncio
import logging
import os
import socket
import threading
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from . import audit, auth
from .config import Params, prediction_log_url
from .explain import Explainer
from .feedback import Label, LabelStore, UnknownPredictions
from .metrics import MetricsMiddleware, ServiceMetrics

logger = logging.getLogger(__name__)


class Recorded(BaseModel):
    recorded: int  # labels stored (a repeated label for the same row counts once)


class ContributionOut(BaseModel):
    feature: str
    value: float
    contribution: float


class ExplanationOut(BaseModel):
    """base_value + sum of every contribution (the top ones and `rest`) == output."""

    model_version: str
    prediction: float | int | str
    explained: str
    base_value: float
    output: float
    contributions: list[ContributionOut]
    rest: float


def add_operations(
    app: FastAPI,
    params: Params,
    served: Any,
    prediction_log: Any,
    keys: auth.ApiKeys,
    live: Any = None,
) -> ServiceMetrics:
    """Guard, measure and extend `app`; the metrics are returned for /predict to count answers.

    `live` (level 5, reload.LiveModels): /explain explains the champion serving now, not the one
    loaded at start."""
    version = served.version if served is not None else None  # None: no champion yet
    classes = served.classes.tolist() if served is not None and served.classes is not None else None
    metrics = ServiceMetrics(params, version, classes)
    # Starlette runs the middleware added last first: metrics see every answer, 401s included.
    app.add_middleware(auth.ApiKeyGuard, keys=keys)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    auth.document(app)
    add_metrics_route(app, metrics)
    if served is not None:
        add_model_routes(app, params, served, prediction_log, live)
    return metrics


def add_model_routes(
    app: FastAPI, params: Params, served: Any, prediction_log: Any, live: Any = None
) -> None:
    """/explain and /feedback, which take `served`'s schema: at start, or (level 5) when the first
    champion arrives in a service that started without one."""
    add_explain_route(app, params, served, live)
    add_feedback_route(app, params, served, prediction_log)


def audit_serving(params: Params, served: Any, address: str | None) -> None:
    """Note in the audit trail which version this process starts serving, where, and as whom
    (AUDIT_ACTOR names a service's identity). A trail that cannot be written is logged as an
    error, not raised: refusing to serve would turn an audit problem into an outage."""
    try:
        audit.record(
            "serve",
            params,
            model=served.card.name,
            version=served.version,
            run_id=served.card.run_id,
            host=socket.gethostname(),
            address=address,  # host:port it listens on, when started by `serve`
            pid=os.getpid(),
        )
    except Exception:
        logger.exception("serving, but the audit trail could not record it")


def add_metrics_route(app: FastAPI, metrics: ServiceMetrics) -> None:
    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics_endpoint() -> Response:
        """Prometheus metrics in the text exposition format (needs the API key)."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


def body_errors() -> dict:
    """The documented 413 and 422 answers, as /predict documents them."""
    from .service import InputProblems, Problem  # here: service.py imports this module

    return {
        413: {"model": Problem, "description": "Body over serving.max_body_bytes"},
        422: {"model": InputProblems, "description": "Body that does not fit the schema"},
    }


def refused_labels(message: str) -> RequestValidationError:
    """A 422 shaped like the schema's own (InputProblems): labels that fit it but not the log."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", "labels"), "msg": message}]
    )


def parse_body(adapter: TypeAdapter, body: bytes) -> Any:
    """The body checked by pydantic; a problem becomes the service's usual 422 answer."""
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        ) from None


def add_explain_route(app: FastAPI, params: Params, served: Any, live: Any = None) -> None:
    from .service import json_body_doc, model_refused  # here: service.py imports this module

    start_champion = served
    explainers = {served.version: Explainer(served.estimator, params.explain.top_k)}
    row_adapter = TypeAdapter(served.row_model)
    busy = threading.Lock()  # one explanation at a time: /predict keeps the other core

    def explain_and_release(explainer, values):
        try:
            return explainer.explain(values)
        finally:
            busy.release()

    @app.post(
        "/explain",
        tags=["predictions"],
        response_model=ExplanationOut,
        openapi_extra=json_body_doc("Row"),
        responses={
            **body_errors(),
            429: {"description": "Another explanation is running"},
            504: {"description": "Over explain.timeout_seconds"},
        },
    )
    async def explain(request: Request) -> ExplanationOut:
        """The top `explain.top_k` feature contributions to the answer for one row (SHAP)."""
        row = parse_body(row_adapter, await request.body())
        # Level 5: the champion now (hot reload), read once; one explainer per version it had.
        # (`start_champion` answers in the moment a first champion is routed but not swapped in.)
        served = (live.champion if live is not None else None) or start_champion
        explainer = explainers.get(served.version)
        if explainer is None:
            explainers.clear()  # an old version's explainer is not needed again
            explainer = Explainer(served.estimator, params.explain.top_k)
            explainers[served.version] = explainer
        values = served.model_input([tuple(row.__dict__.values())])
        try:
            # The prediction first: it refuses what the model cannot score (values too large for
            # the forest's float32 thresholds), which SHAP would turn into NaNs instead.
            prediction = served.predict(values)[0][0]
        except ValueError as error:
            raise model_refused(error) from error
        if not busy.acquire(blocking=False):
            raise HTTPException(429, "an explanation is already running: retry in a moment")
        try:
            # The first call imports SHAP (seconds): not counted against the time limit.
            if not explainer.is_ready:
                await run_in_threadpool(explainer.ready)
            work = asyncio.ensure_future(run_in_threadpool(explain_and_release, explainer, values))
        except BaseException:
            busy.release()
            raise
        try:
            # shield: at the time limit the client gets its answer at once. The worker thread
            # cannot be stopped; it finishes on its own and then releases `busy`, so until then
            # further explanations get 429 instead of piling up on the CPU.
            explanation = await asyncio.wait_for(
                asyncio.shield(work), params.explain.timeout_seconds
            )
        except TimeoutError:
            work.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise HTTPException(
                504,
                f"the explanation took over {params.explain.timeout_seconds} s "
                "(explain.timeout_seconds)",
            ) from None
        return ExplanationOut(
            model_version=served.version,
            prediction=prediction,
            explained=explanation.explained,
            base_value=explanation.base_value,
            output=explanation.output,
            contributions=[ContributionOut(**vars(item)) for item in explanation.top],
            rest=explanation.rest,
        )


def add_feedback_route(app: FastAPI, params: Params, served: Any, prediction_log: Any) -> None:
    from .service import document_request_models, json_body_doc  # service.py imports this module

    store = LabelStore(prediction_log_url(params))
    label_model = create_model(
        "Label",
        __config__=ConfigDict(extra="forbid"),
        request_id=(Annotated[str, Field(min_length=1, max_length=64)], ...),
        row=(Annotated[int, Field(ge=0)], 0),
        label=(served.prediction_type, ...),
    )
    feedback_model = create_model(
        "Feedback",
        __config__=ConfigDict(extra="forbid"),
        labels=(
            Annotated[
                list[label_model], Field(min_length=1, max_length=params.serving.max_batch_rows)
            ],
            ...,
        ),
    )
    adapter = TypeAdapter(feedback_model)
    document_request_models(app, feedback_model)
    known = None if served.classes is None else set(served.classes.tolist())

    def record(items: list[Label]) -> int:
        try:
            return store.record(items)
        except UnknownPredictions:
            # A prediction answered a moment ago may still wait in the log's queue: write it out.
            prediction_log.flush()
        return store.record(items)

    @app.post(
        "/feedback",
        tags=["monitoring"],
        openapi_extra=json_body_doc("Feedback"),
        responses=body_errors(),
    )
    async def feedback(request: Request) -> Recorded:
        """Record true labels of served predictions, by request_id and row (all or nothing)."""
        batch = parse_body(adapter, await request.body())
        items = [Label(item.request_id, item.row, item.label) for item in batch.labels]
        if known is not None:
            strangers = sorted({str(item.label) for item in items if item.label not in known})
            if strangers:
                classes = ", ".join(sorted(map(str, known)))
                raise refused_labels(f"{strangers} are not classes of the model ({classes})")
        try:
            # In a worker thread: the database must never hold up /predict on the event loop.
            return Recorded(recorded=await run_in_threadpool(record, items))
        except UnknownPredictions as error:
            raise refused_labels(str(error)) from None
