"""The API's errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, and which route returns which."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

# status -> (OpenAI error type, default code); a raised APIError names its own code
KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("authentication_error", "invalid_api_key"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    499: ("invalid_request_error", "client_closed_request"),
    500: ("server_error", "internal_error"),
    504: ("server_error", "timeout"),
}
HELP = {400: "The request is invalid: `param` names the field, `code` says how",
        401: "Missing or wrong API key (`Authorization: Bearer <TTTC_API_KEY>`)",
        404: "Not found", 409: "No outcome log is configured", 413: "The body is larger than --max-body-bytes",
        429: "The queue is full; see the Retry-After header", 500: "The strategy failed",
        504: "No answer within the timeout; the run was stopped"}


class ErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error, rate_limit_error, "
                                  "server_error")
    param: str | None = Field(description="the request field at fault, e.g. `messages[0].role`, or null")
    code: str | None = Field(description="a stable string, e.g. `model_not_found`, `missing_required_parameter`")


class ErrorBody(BaseModel):
    error: ErrorDetail


class APIError(HTTPException):
    """An HTTP error with OpenAI's `code` (a string) and `param`."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(status, message, headers=headers)
        self.code, self.param = code, param


def error_response(status: int, message: str, code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    kind, default = KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    body = ErrorBody(error=ErrorDetail(message=message, type=kind, param=param, code=code or default))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def error_event(status: int, message: str) -> dict[str, Any]:
    """An error inside an SSE stream (the status line went out already): the same body, as one event."""
    kind, code = KINDS[status]
    return ErrorBody(error=ErrorDetail(message=message, type=kind, param=None, code=code)).model_dump()


def declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each error status it can return, with the error body's schema."""
    return {s: {"model": ErrorBody, "description": HELP[s]} for s in statuses}


def where(loc: tuple[Any, ...]) -> str | None:
    """A validation error's location as a param: ("body", "messages", 0, "role") -> "messages[0].role"."""
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "path", "query", "header") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def install(app: FastAPI) -> None:
    """Every error leaves in OpenAI's shape; invalid requests are 400 (OpenAI's status), not FastAPI's 422."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "code", None),
                              getattr(exc, "param", None), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        kind = first.get("type", "")
        param = None if kind == "json_invalid" else where(tuple(first.get("loc", ())))   # its loc: a character
        code = {"missing": "missing_required_parameter", "json_invalid": "invalid_json"}.get(kind, "invalid_value")
        message = str(first.get("msg", "invalid request"))
        return error_response(400, f"{param}: {message}" if param else message, code, param)


def drop_fastapi_422(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI declares 422 on every route with a body or parameters; this app answers 400 instead."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
