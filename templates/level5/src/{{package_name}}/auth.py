"""API-key authentication for the service: who may predict, explain, send labels and read metrics.

Keys are secrets, so they never live in the repository or in params.yaml. The service reads them
at start from the environment:

    API_KEYS        one or more keys, separated by commas
    API_KEYS_FILE   a file with one key per line (a Docker or Kubernetes secret mounted as a file)

A client sends its key in the `X-API-Key` header, or as `Authorization: Bearer <key>` (what
Prometheus sends when it scrapes /metrics). Without a key the answer is 401, with a wrong one 403.
/health, /ready and the API docs stay open: probes and people reading the schema hold no key.

With no key configured the service refuses to start. A service that quietly starts unprotected
because a secret failed to mount is how model endpoints end up open on the internet; refusing
turns that into a failed deployment that someone sees at once. For local development,
`serve --open` runs without keys, and only on a loopback address, so it cannot be reached from
another machine by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from .config import UserError

KEYS_VARIABLE = "API_KEYS"
KEYS_FILE_VARIABLE = "API_KEYS_FILE"
HEADER = b"x-api-key"
BEARER = b"bearer "
# Every endpoint that serves the model or reveals how it behaves. A path is protected when it is
# one of these or lies below one ("/predict/batch").
PROTECTED = ("/predict", "/explain", "/feedback", "/metrics", "/model")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_KEY_LENGTH = 16  # shorter keys can be guessed; `secrets.token_urlsafe(32)` gives 43 characters
NEW_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class NoApiKeys(UserError):
    """The service would start unprotected."""


def fingerprint(key: str) -> bytes:
    # Keys are compared by their SHA-256 digests: every comparison then takes the same time
    # whatever the key's length, and the service holds no key in plain text after start-up.
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class ApiKeys:
    """The accepted keys (as digests), or open access for local development."""

    digests: tuple[bytes, ...]
    open_access: bool = False

    def accepts(self, presented: str) -> bool:
        """True when `presented` is one of the keys; constant time, and every key is compared."""
        digest = fingerprint(presented)
        matched = False
        for known in self.digests:
            # No early exit: the time taken must not tell which key, or how much of one, matched.
            matched |= hmac.compare_digest(digest, known)
        return matched


def read_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The keys from API_KEYS and from the file named by API_KEYS_FILE, blanks dropped."""
    variables = os.environ if environ is None else environ
    keys = [key.strip() for key in variables.get(KEYS_VARIABLE, "").split(",")]
    file = variables.get(KEYS_FILE_VARIABLE)
    if file:
        try:
            keys += [line.strip() for line in Path(file).read_text(encoding="utf-8").splitlines()]
        except OSError as error:
            raise NoApiKeys(
                f"{KEYS_FILE_VARIABLE} names {file}, which cannot be read ({error.strerror}). "
                "Fix: mount the secret file there, or unset the variable."
            ) from None
    keys = [key for key in keys if key]
    short = [key for key in keys if len(key) < MIN_KEY_LENGTH]
    if short:
        # The message must not echo the key: logs are read by more people than keys are.
        raise NoApiKeys(
            f"{len(short)} API key(s) shorter than {MIN_KEY_LENGTH} characters. "
            f"Fix: make longer keys, e.g. with `{NEW_KEY_HINT}`."
        )
    return keys


def load_keys(open_access: bool = False, host: str = "127.0.0.1") -> ApiKeys:
    """The service's keys; refuse to go on without any unless open access was asked for."""
    if open_access:
        if host not in LOOPBACK_HOSTS:
            raise NoApiKeys(
                f"--open serves without API keys, so it only listens on loopback, not {host}. "
                f"Fix: set {KEYS_VARIABLE} to serve on {host}, or drop --host."
            )
        return ApiKeys(digests=(), open_access=True)
    keys = read_keys()
    if not keys:
        raise NoApiKeys(
            f"No API key configured, and the service does not start unprotected. Fix: set "
            f"{KEYS_VARIABLE} (comma-separated) or {KEYS_FILE_VARIABLE} (one key per line), e.g. "
            f"`export {KEYS_VARIABLE}=$({NEW_KEY_HINT})`; for local development only, "
            f"`python -m {__package__} serve --open`."
        )
    return ApiKeys(digests=tuple(fingerprint(key) for key in keys))


def is_protected(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED)


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries, from X-API-Key or an Authorization: Bearer header."""
    for name, value in headers:
        if name == HEADER:
            return value.decode("latin-1")
        if name == b"authorization" and value[:7].lower() == BEARER:
            return value[7:].decode("latin-1").strip()
    return None


async def refuse(send, status: int, detail: str) -> None:
    body = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'APIKey header="X-API-Key"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ApiKeyGuard:
    """ASGI middleware: a protected path needs an accepted key before anything else runs.

    Checking here, ahead of routing and body parsing, keeps the cost per request to one header
    scan and one digest, and protects every route under a protected path, including ones added
    later. The presented key is never logged, stored or echoed back.
    """

    def __init__(self, app, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.keys.open_access or not is_protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        key = presented_key(scope["headers"])
        if key is None:
            await refuse(send, 401, "missing API key: send it in the X-API-Key header")
        elif not self.keys.accepts(key):
            await refuse(send, 403, "the API key is not valid")
        else:
            await self.app(scope, receive, send)


def document(app) -> None:
    """Declare the key in /openapi.json: the security scheme, and the 401/403 answers of every
    protected operation (the guard sits outside FastAPI's routing, so FastAPI cannot see it)."""
    build_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build_openapi()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            for path, operations in schema.get("paths", {}).items():
                if not is_protected(path):
                    continue
                for operation in operations.values():
                    operation["security"] = [{"ApiKey": []}]
                    answers = operation.setdefault("responses", {})
                    answers["401"] = {"description": "No API key sent"}
                    answers["403"] = {"description": "The API key is not valid"}
        return app.openapi_schema

    app.openapi = openapi
