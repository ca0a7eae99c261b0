"""The prediction service: a FastAPI app serving the registry's champion model.

    POST /predict        one row, a JSON object with every feature -> {"prediction": ...}
    POST /predict/batch  {"rows": [row, ...]}, at most serving.max_batch_rows rows
                         -> {"predictions": [...]} in the order of the rows
                         Every answer names its `model_version` and `role` (champion or canary).
    GET  /health         the process is up (liveness)
    GET  /ready          a champion model is loaded (readiness); 503 until one is trained
    GET  /model          which version answers, and where it came from (run, metrics, data, commit)

A classifier answers the class as it was trained (a string stays a string, a number a number)
and the probability of each class, keyed by class.

The champion is loaded at start with the native scikit-learn flavor; level 5 then follows the
registry's aliases and swaps in a newly promoted version without a restart (reload.py), routes a
share of traffic to a canary and scores the challenger in shadow (routing.py). On SIGTERM the
server stops taking connections, lets requests in flight finish (serving.drain_seconds), then
writes out the prediction log. The request schema is built from the start champion's signature
(feature names and types), so /docs and /openapi.json describe exactly what the model takes,
and pydantic checks each raw request body in one pass (`validate_json`): a bad request is
refused with a 4xx before it reaches the model. Every feature must be sent; null stands for a
value that is unknown, which the model's pipeline fills in as it did for gaps in the training
data. Every prediction is written to the prediction log, off the request path.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations, and
# the request models are built at run time from the signature, so they must stay real objects.

import gc
import logging
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from types import GenericAlias
from typing import Any, get_args

import mlflow
import numpy as np
import orjson
import pandas as pd
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from mlflow.models import Model, ModelSignature
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.json_schema import models_json_schema
from sklearn.base import is_classifier
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import auth, lineage, operations, registry
from .config import Params, prediction_log_url
from .prediction_log import PredictionLog, Served
from .reload import ChampionWatcher, LiveModels
from .routing import Router, ShadowRequest, ShadowScorer
from .tracking import configure_tracking

logger = logging.getLogger(__name__)

# Signature column types the service accepts, as JSON types: the data module types every
# feature as a number ("double") or text ("string"); the others come from older models.
FEATURE_TYPES: dict[str, type] = {
    "double": float,
    "float": float,
    "long": int,
    "integer": int,
    "boolean": bool,
    "string": str,
}
# numpy dtype kind of the model output -> JSON type of a prediction.
PREDICTION_TYPES: dict[str, type] = {"f": float, "i": int, "u": int, "b": bool}


class Problem(BaseModel):
    """Why a request could not be answered."""

    detail: str


class InputProblem(BaseModel):
    loc: list[str | int]  # where: ["body", "rows", 3, "plan"] is feature plan of the fourth row
    msg: str
    type: str


class InputProblems(BaseModel):
    """Why the request body was refused: one entry per problem."""

    detail: list[InputProblem]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    model: str
    version: str


class ModelCard(BaseModel):
    """What /model returns: the served version and its lineage."""

    name: str
    version: str
    run_id: str
    trained_at: datetime | None
    metrics: dict[str, float]
    params: dict[str, str]
    data_fingerprint: str | None
    git_commit: str | None
    features: list[str]
    input_example: dict[str, Any] | None


@dataclass(frozen=True)
class ServedModel:
    """The loaded champion and what the service derives from it."""

    estimator: Any  # the fitted scikit-learn Pipeline
    card: ModelCard
    row_model: type[BaseModel]
    prediction_type: Any  # a JSON type (float, int, str, bool), or a union of them when unknown
    has_text: bool  # some features are text: the model input is then an object array
    # A classifier's classes in training order (the columns of predict_proba), else None.
    classes: np.ndarray | None

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def features(self) -> list[str]:
        return self.card.features

    def model_input(self, rows: list[tuple[Any, ...]]) -> np.ndarray:
        """Rows of feature values in training order -> the 2-D array the pipeline takes.

        null becomes NaN, the missing value the pipeline was trained to fill in.
        """
        if not self.has_text:
            return np.array(rows, dtype=np.float64)  # numpy turns None into NaN
        values = np.array(rows, dtype=object)
        values[pd.isna(values)] = np.nan
        return values

    def predict(self, values: np.ndarray) -> tuple[list[Any], list[dict[str, float]] | None]:
        """Predictions for the rows of `values` and, from a classifier, each class's probability."""
        with warnings.catch_warnings():
            # The pipeline was fitted on a DataFrame and gets an array, so scikit-learn warns
            # "X does not have valid feature names" on every call. The columns are in training
            # order (checked at load), so the warning says nothing here. Resetting to a single
            # filter also matters for speed: forests re-install every active warning filter for
            # each tree they evaluate (sklearn.utils.parallel). Changing the process-wide filters
            # is safe because predictions only run on the event loop's thread (async endpoints).
            warnings.resetwarnings()
            warnings.simplefilter("ignore")
            if self.classes is None:
                return self.estimator.predict(values).tolist(), None
            probabilities = self.estimator.predict_proba(values)
        # A forest's predict is this same argmax over predict_proba: one pass gives both.
        labels = self.classes.take(probabilities.argmax(axis=1)).tolist()
        keys = [str(label) for label in self.classes.tolist()]  # JSON object keys are text
        return labels, [dict(zip(keys, row, strict=True)) for row in probabilities.tolist()]

    def predict_off_loop(self, values: np.ndarray) -> list[Any]:
        """Predictions from a thread other than the event loop's (warm-up, shadow scoring).

        The rows go in as a DataFrame with the feature names, so scikit-learn has nothing to warn
        about and the process-wide warning filters, which `predict` changes, stay untouched:
        two threads changing them at once could leave them wrong for everyone.
        """
        return self.estimator.predict(pd.DataFrame(values, columns=self.features)).tolist()


class NoChampion(Exception):
    """The registry has no champion to serve yet."""


def no_champion_message(params: Params) -> str:
    if params.serving.reload_seconds > 0:  # level 5: the watcher picks the first one up
        then = (
            f"the service starts serving it within serving.reload_seconds "
            f"({params.serving.reload_seconds:g} s), without a restart"
        )
    else:
        then = "then restart the service (serving.reload_seconds is 0: it does not poll)"
    return (
        f"No champion model '{params.registry.model_name}' in the registry at "
        f"{mlflow.get_tracking_uri()} yet. Train and promote one with "
        f"`python -m {__package__} pipeline` (or `make pipeline`); {then}."
    )


def row_model_from(
    signature: ModelSignature | None, example: dict[str, Any] | None
) -> type[BaseModel]:
    """A pydantic model with one field per signature column: its name and its type, or null.

    Every field is required, so a misspelt or forgotten feature is refused, and nullable, so a
    client can say "unknown"; the model's pipeline fills such a value in.
    """
    if signature is None or signature.inputs is None or signature.inputs.is_tensor_spec():
        raise ValueError("the model has no column-based input signature to build a schema from")
    fields: dict[str, Any] = {}
    for column in signature.inputs.inputs:
        json_type = FEATURE_TYPES.get(column.type.name)
        if json_type is None:
            raise ValueError(f"feature '{column.name}' has type {column.type.name}, not supported")
        fields[column.name] = (json_type | None, ...)
    config = ConfigDict(
        extra="forbid",  # a misspelt feature is an error, not silently ignored
        strict=True,  # "1.5" is a string, not a number; 3 is a number, not a category
        allow_inf_nan=False,  # NaN and Infinity are refused: null says "unknown"
        json_schema_extra={"examples": [example]} if example else None,
    )
    return create_model("Row", __config__=config, __doc__="One row of model inputs.", **fields)


def prediction_type_from(signature: ModelSignature | None) -> Any:
    if signature is None or signature.outputs is None:
        return float | int | str
    kind = np.dtype(signature.outputs.numpy_types()[0]).kind
    return PREDICTION_TYPES.get(kind, str)


def load_champion(params: Params) -> ServedModel:
    """Load the champion: estimator, signature, input example and lineage."""
    configure_tracking(params)
    champion = registry.get_champion(params)
    if champion is None:
        raise NoChampion(no_champion_message(params))
    return load_version(params, str(champion.version))


def load_version(params: Params, version: str) -> ServedModel:
    """Load one registered version (the hot reload calls this off the request path)."""
    configure_tracking(params)
    # Load by version number, not by alias: the alias may move while we are loading.
    local_dir = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{params.registry.model_name}/{version}"
    )
    metadata = Model.load(local_dir)
    estimator = mlflow.sklearn.load_model(local_dir)
    example_frame = metadata.load_input_example(local_dir)
    example = None
    if isinstance(example_frame, pd.DataFrame):  # the data module logs a DataFrame
        # A gap in the example is NaN in the frame and null in JSON, as a client would send it.
        first = example_frame.head(1).astype(object)
        example = first.where(first.notna(), None).iloc[0].to_dict()
    row_model = row_model_from(metadata.signature, example)
    features = list(row_model.model_fields)
    # Requests become arrays in signature order, so that order must be the training order.
    trained_on = list(getattr(estimator, "feature_names_in_", features))
    if trained_on != features:
        raise ValueError(f"signature columns {features} differ from the model's {trained_on}")
    facts = lineage.walk_back(params, version)
    card = ModelCard(
        name=params.registry.model_name,
        version=version,
        run_id=facts["run_id"],
        trained_at=facts.get("trained_at"),
        metrics=facts.get("metrics", {}),
        params=facts.get("params", {}),
        data_fingerprint=facts.get("data_fingerprint"),
        git_commit=facts.get("git_commit"),
        features=features,
        input_example=example,
    )
    return ServedModel(
        estimator=estimator,
        card=card,
        row_model=row_model,
        prediction_type=prediction_type_from(metadata.signature),
        has_text=any(
            str in get_args(field.annotation) for field in row_model.model_fields.values()
        ),
        classes=np.asarray(estimator.classes_) if is_classifier(estimator) else None,
    )


class BodySizeLimit:
    """ASGI middleware: refuse a request body over `max_bytes` with 413, before reading it all.

    A declared Content-Length is checked up front; a chunked body is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = 0
        for key, value in scope["headers"]:
            if key == b"content-length":
                declared = int(value) if value.isdigit() else 0
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared > self.max_bytes:
                raise self.too_large(declared)
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self.too_large(received)
            return message

        await self.app(scope, receive_within_limit, send)

    def too_large(self, size: int) -> HTTPException:
        return HTTPException(
            status_code=413,
            detail=f"request body of {size} bytes is over the limit of {self.max_bytes} bytes "
            "(serving.max_body_bytes); send fewer rows per request",
        )


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    """422 with one short entry per problem (where, what, type), without echoing the input.

    Registered for RequestValidationError only; typed `Exception` as Starlette's handlers are.
    """
    if not isinstance(error, RequestValidationError):
        raise error
    problems = []
    for item in error.errors():
        message = item["msg"]
        if item["type"] in ("model_type", "model_attributes_type") and item["loc"] == ("body",):
            message = "the body must be a JSON object, sent as Content-Type: application/json"
        problems.append({"loc": list(item["loc"]), "msg": message, "type": item["type"]})
    return JSONResponse({"detail": problems}, status_code=422)


async def validated_body(request: Request, adapter: TypeAdapter[Any]) -> Any:
    """The request body parsed and checked by pydantic in one pass, straight from its bytes."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        message = "the body must be a JSON object, sent as Content-Type: application/json"
        raise RequestValidationError([{"type": "content_type", "loc": ("body",), "msg": message}])
    try:
        return adapter.validate_json(await request.body())
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        ) from None


def json_body_doc(schema_name: str) -> dict[str, Any]:
    """The OpenAPI description of a JSON request body whose schema is in the components."""
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def document_request_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put the request models into /openapi.json: the endpoints read raw bodies (see
    validated_body), so FastAPI does not know these models by itself.

    Each call rebuilds the OpenAPI schema from the routes there are now, with every model
    documented so far (level 4's /feedback adds its own); FastAPI keeps the last schema built
    (app.openapi_schema) and serves it from then on.
    """
    app.state.documented_models = [*getattr(app.state, "documented_models", []), *models]
    _, top = models_json_schema(
        [(model, "validation") for model in app.state.documented_models],
        ref_template="#/components/schemas/{model}",
    )
    app.openapi_schema = None
    schema = app.openapi()
    schema.setdefault("components", {}).setdefault("schemas", {}).update(top["$defs"])


def json_response(content: dict[str, Any]) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def model_refused(error: ValueError) -> RequestValidationError:
    """The input passed the schema but the model cannot score it (say, values too large)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body",), "msg": f"the model refused the input: {error}"}]
    )


class PredictionParts:
    """What answering predictions needs besides the model: the prediction log and (level 5) the
    shadow scorer. Both take the feature names of the first champion the service serves."""

    def __init__(self, params: Params, live: LiveModels, served: ServedModel) -> None:
        self.log = PredictionLog(prediction_log_url(params), served.features)
        self.shadow = None
        if params.serving.shadow:
            # Level 5: the challenger scores in a process of its own, writing to the same log.
            self.shadow = ShadowScorer(live, prediction_log_url(params), served.features)
        self._started = False

    def start(self) -> None:
        """Start the log's writer and the shadow process (once: at start, or when the first
        champion arrives in a running service)."""
        if self._started:
            return
        self._started = True
        self.log.start()
        if self.shadow is not None:
            self.shadow.start()

    def close(self) -> None:
        if self.shadow is not None:
            self.shadow.close()  # its rows first, while the log still takes them
        self.log.close()


def create_app(params: Params, keys: auth.ApiKeys | None = None) -> FastAPI:
    """Build the app around the current champion; without one, /ready and /predict say 503
    until (level 5) the watcher finds the first champion and the app is built around it.

    `keys` default to those of the environment (API_KEYS, API_KEYS_FILE): none refuses to start.
    """
    if keys is None:
        keys = auth.load_keys()
    live = LiveModels()  # level 5: the models answering now; the watcher swaps them
    unavailable = ""
    try:
        live.champion = load_champion(params)
    except NoChampion as error:
        unavailable = str(error)
        logger.warning(unavailable)
    else:
        logger.info("serving %s version %s", params.registry.model_name, live.champion.version)
    # The first champion served: its signature is the request schema for the life of the process.
    served = live.champion
    parts = PredictionParts(params, live, served) if served is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.parts is not None:
            app.state.parts.start()
        watcher.start()  # with no champion yet too: it picks the first one up
        if served is not None:  # level 4: who serves which version, where (audit trail)
            operations.audit_serving(params, served, getattr(app.state, "address", None))
        yield
        # On SIGTERM uvicorn has stopped taking requests and let those in flight finish; then
        # the watcher stops, the shadow process scores and writes what it holds, and the log
        # writes out the rest. The parts are read now: the watcher may have built them since.
        watcher.stop()
        if app.state.parts is not None:
            app.state.parts.close()

    app = FastAPI(
        title=f"{params.registry.model_name} prediction service",
        description="Serves the champion model of the MLflow registry.",
        lifespan=lifespan,
        responses={503: {"model": Problem, "description": "No champion model loaded"}},
    )
    app.state.parts = parts
    app.add_middleware(BodySizeLimit, max_bytes=params.serving.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_error)
    # Level 4: API keys, Prometheus metrics, /explain and /feedback (operations.py).
    log = parts.log if parts is not None else None
    metrics = operations.add_operations(app, params, served, log, keys, live)
    app.state.metrics = metrics
    router = Router(live, params.serving.canary_share, params.serving.sticky_key_header)
    max_rows = params.serving.max_batch_rows
    unavailable_routes: list[Any] = []  # the 503 routes of a service started without a champion

    def prepare_first_champion(role: str, model: ServedModel) -> None:
        """Level 5, started without a champion: build the log and the routes around the first
        one, before it is swapped in. Until then the 503 routes, added first, still answer."""
        if role != "champion" or app.state.parts is not None:
            return
        first = PredictionParts(params, live, model)
        first.start()
        operations.add_model_routes(app, params, model, first.log, live)
        add_prediction_routes(app, model, router, first.log, first.shadow, max_rows)
        app.state.parts = first

    def follow_champion(role: str, model: ServedModel | None) -> None:
        if role == "champion" and model is not None:
            if unavailable_routes:  # the first champion is in: the 503 routes go
                drop_routes(app, unavailable_routes)
                unavailable_routes.clear()
            classes = model.classes.tolist() if model.classes is not None else None
            metrics.follow(model.version, classes)  # labelled with the version now serving
            # A swapped-in champion is served from now on: the audit trail says so, like a start.
            operations.audit_serving(params, model, getattr(app.state, "address", None))

    # Level 5: hot reload (reload.py); the simulation and the tests call app.state.watcher.
    watcher = ChampionWatcher(
        params,
        live,
        metrics.registry,
        on_swap=follow_champion,
        before_swap=prepare_first_champion,
    )
    if served is not None:
        watcher.check_now()  # the canary and the challenger, when their roles are on
    app.state.live, app.state.watcher = live, watcher

    @app.get("/health", tags=["operations"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/ready", tags=["operations"])
    async def ready() -> Readiness:
        """Readiness: a champion model is loaded and can answer /predict."""
        champion = live.champion
        if champion is None:
            raise HTTPException(status_code=503, detail=unavailable)
        return Readiness(status="ready", model=champion.card.name, version=champion.version)

    @app.get("/model", tags=["operations"])
    async def model() -> ModelCard:
        """The served version and its lineage: run, metrics, data fingerprint, git commit."""
        champion = live.champion
        if champion is None:
            raise HTTPException(status_code=503, detail=unavailable)
        return champion.card

    # Last: documenting the request models builds /openapi.json from the routes there are.
    if served is not None and parts is not None:
        add_prediction_routes(app, served, router, parts.log, parts.shadow, max_rows)
    else:
        unavailable_routes.extend(add_unavailable_routes(app, unavailable))
    return app


def add_prediction_routes(
    app: FastAPI,
    served: ServedModel,
    router: Router,
    prediction_log: PredictionLog,
    shadow: ShadowScorer | None,
    max_batch_rows: int,
) -> None:
    """/predict and /predict/batch, validated against `served`'s schema, answered by `router`'s
    pick (the champion or the canary) and scored in shadow when `shadow` is given."""
    # The models' field types are only known at run time (from the signature), so they are built
    # as values: GenericAlias(list, X) is `list[X]` for a type X held in a variable.
    row_model = served.row_model
    rows_type: Any = GenericAlias(list, row_model)
    observe_predictions = app.state.metrics.observe_predictions  # level 4: per-class counts
    batch_model = create_model(
        "Batch",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Several rows, answered in order.",
        rows=(rows_type, Field(min_length=1, max_length=max_batch_rows)),
    )
    row_adapter, batch_adapter = TypeAdapter(row_model), TypeAdapter(batch_model)
    single: dict[str, Any] = {"prediction": (served.prediction_type, ...)}
    several: dict[str, Any] = {"predictions": (GenericAlias(list, served.prediction_type), ...)}
    if served.classes is not None:
        single["probabilities"] = (dict[str, float], ...)
        several["probabilities"] = (list[dict[str, float]], ...)
    ids: dict[str, Any] = {
        "model_version": (str, ...),
        "role": (str, Field(description="which model answered: champion or canary")),
        "request_id": (str, ...),
    }
    prediction_model = create_model("Prediction", **single, **ids)
    batch_prediction_model = create_model("BatchPrediction", **several, **ids)
    body_errors: dict[int | str, dict[str, Any]] = {
        413: {"model": Problem, "description": "Body over serving.max_body_bytes"},
        422: {"model": InputProblems, "description": "Body that does not fit the schema"},
    }

    def predict_and_log(request: Request, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        """Predict `rows` (feature values in training order), log them, and build the answer."""
        request_id = uuid.uuid4().hex
        # One read of the live models: this request is answered, logged and labelled by `model`
        # alone, whatever the watcher swaps in meanwhile.
        choice = router.choose(request.headers, request_id)
        model = choice.served
        values = model.model_input(rows)
        try:
            predictions, class_probabilities = model.predict(values)
        except ValueError as error:
            raise model_refused(error) from error
        now = time.time()
        prediction_log.record(
            Served(request_id, model.version, now, values, predictions, choice.role)
        )
        if shadow is not None:
            shadow.submit(ShadowRequest(request_id, now, values, model.version))
        observe_predictions(predictions)
        answer = {"predictions": predictions, "model_version": model.version, "role": choice.role}
        if class_probabilities is not None:
            answer["probabilities"] = class_probabilities
        return {**answer, "request_id": request_id}

    # `async def` on purpose: a prediction is a short CPU-bound call that holds the GIL anyway,
    # so running it in the event loop saves the thread hand-off a plain `def` endpoint costs.
    # The answers are built from plain values the service made itself, so they are sent as JSON
    # directly instead of being validated again against response_model (which still documents
    # them in the OpenAPI schema): that second validation is a fifth of a request's overhead.
    @app.post(
        "/predict",
        tags=["predictions"],
        responses=body_errors,
        response_model=prediction_model,
        openapi_extra=json_body_doc("Row"),
    )
    async def predict(request: Request) -> Response:
        """Predict one row."""
        row = await validated_body(request, row_adapter)
        answer = predict_and_log(request, [tuple(row.__dict__.values())])
        answer["prediction"] = answer.pop("predictions")[0]
        if "probabilities" in answer:
            answer["probabilities"] = answer["probabilities"][0]
        return json_response(answer)

    @app.post(
        "/predict/batch",
        tags=["predictions"],
        responses=body_errors,
        response_model=batch_prediction_model,
        openapi_extra=json_body_doc("Batch"),
    )
    async def predict_batch(request: Request) -> Response:
        """Predict several rows at once; predictions come back in the order of the rows."""
        batch = await validated_body(request, batch_adapter)
        rows = [tuple(row.__dict__.values()) for row in batch.rows]
        return json_response(predict_and_log(request, rows))

    document_request_models(app, row_model, batch_model)  # once every route is there


def add_unavailable_routes(app: FastAPI, unavailable: str) -> list[Any]:
    """Without a champion there is no schema to validate against: every call answers 503.
    Returns the routes added, for drop_routes once a champion serves."""
    before = list(app.router.routes)

    @app.post("/predict", tags=["predictions"], status_code=503)
    async def predict_without_champion() -> Problem:
        raise HTTPException(status_code=503, detail=unavailable)

    @app.post("/predict/batch", tags=["predictions"], status_code=503)
    async def predict_batch_without_champion() -> Problem:
        raise HTTPException(status_code=503, detail=unavailable)

    return [route for route in app.router.routes if route not in before]


def drop_routes(app: FastAPI, routes: list[Any]) -> None:
    """Remove `routes` from a running app in one assignment: a request being routed meanwhile
    goes on with the list it read, so it never sees a half-changed one."""
    app.router.routes = [route for route in app.router.routes if route not in routes]
    document_request_models(app)  # /openapi.json again, without them


def serve(
    params: Params, host: str | None = None, port: int | None = None, open_access: bool = False
) -> None:
    """Run the service with uvicorn on `host`:`port` (default: serving.host and serving.port).

    `open_access` serves without API keys, on loopback only (auth.py says why).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    host = host or params.serving.host
    keys = auth.load_keys(open_access, host)
    if keys.open_access:
        logger.warning("serving WITHOUT API keys (--open): for local development only")
    app = create_app(params, keys)
    app.state.address = f"{host}:{port or params.serving.port}"  # for the audit trail's entry
    # Loading MLflow, scikit-learn and the model leaves ~360,000 long-lived objects, and every
    # full garbage collection walks them all again: a 1000-row batch allocates enough objects to
    # trigger collections worth a few ms. Freezing moves what exists now out of the collector's
    # sight; what requests allocate is still collected as usual.
    gc.freeze()
    # No access log: every prediction is already in the prediction log with its request id.
    # On SIGTERM (docker stop, Kubernetes, systemd) uvicorn stops accepting connections and waits
    # up to drain_seconds for requests in flight; the lifespan then writes out the prediction log.
    uvicorn.run(
        app,
        host=host,
        port=port or params.serving.port,
        access_log=False,
        timeout_graceful_shutdown=params.serving.drain_seconds,
    )
