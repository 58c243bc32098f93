"""What the HTTP API answers, declared for the OpenAPI document (`/openapi.json`).

Routes build their answers by hand (they verify, parse and render), so FastAPI cannot infer them:
each route lists here every status it can give, with the body's shape and content type, and the
request body it reads. A test runs schemathesis with every check against the running app
(tests/integration/api/test_openapi_conformance.py), so an answer missing here fails the suite.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

Answers = dict[int | str, dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorAnswer(BaseModel):
    """The common refusal: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


class FieldErrorsAnswer(BaseModel):
    """A form's refusal: one message per field (`_` for the whole form)."""

    errors: dict[str, str]


class RefusedAnswer(BaseModel):
    """A refusal that may also name fields."""

    error: ErrorDetail
    errors: dict[str, str] | None = None


def error(description: str, model: type[BaseModel] = ErrorAnswer) -> dict[str, Any]:
    return {"model": model, "description": description}


def content(description: str, *media_types: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An answer in other content types than JSON (HTML, CSS, images, Prometheus text)."""
    return {
        "description": description,
        "content": {media: {"schema": schema or {"type": "string"}} for media in media_types},
    }


def json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (size-limited, exact money)."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


# --- request text as the routes read it ------------------------------------------------------

#: The characters `str.strip()` and `str.isspace()` take for whitespace, as a regex class body.
#: Spelled out: `\s` means other sets in other regex dialects (schemathesis reads ECMA's).
WHITESPACE = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def stripped_text(max_length: int, *, inner_spaces: bool = True, optional: bool = False) -> dict[str, Any]:
    """A string whose stripped value has 1..max_length characters (0.. when optional); without
    `inner_spaces` it holds no whitespace inside either."""
    ws, visible = f"[{WHITESPACE}]", f"[^{WHITESPACE}]"
    if inner_spaces:
        core = f"{visible}(?:(?:{ws}|{visible}){{0,{max_length - 2}}}{visible})?"
    else:
        core = f"{visible}{{1,{max_length}}}"
    if optional:
        core = f"(?:{core})?"
    return {"type": "string", "pattern": f"^{ws}*{core}{ws}*$"}


# --- answers many routes share ------------------------------------------------------------

BODY_REFUSED: Answers = {
    400: error("The body is not a JSON object of the documented shape, or Content-Length is not a number."),
    413: error("The body is larger than the route accepts."),
}
DASHBOARD_AUTH: Answers = {
    401: error(
        "No or an invalid Dashboard token, or the app is not installed for that Saleor (headers "
        "`authorization-bearer` and `saleor-api-url`)."
    ),
    403: error("The token is for another app or Saleor, or its user lacks MANAGE_APPS."),
}
NOT_FOUND: Answers = {404: error("No such object in this shop.")}
FORM_REFUSED: Answers = {
    400: error(
        "Nothing was changed: `{errors: {field: message}}` for the fields, or `{error}` for a body that is not "
        "a JSON object.",
        FieldErrorsAnswer | ErrorAnswer,  # type: ignore[arg-type]
    ),
    413: error("The body is larger than the route accepts."),
}
ACTION_REFUSED: Answers = {
    400: error("Nothing was recorded: `{error, errors}` names the fields.", RefusedAnswer),
    404: error("No such refund or payment in this shop.", RefusedAnswer),
    409: error("The refund or payment is not in a state that allows this (e.g. already settled).", RefusedAnswer),
    413: error("The body is larger than the route accepts."),
}
SALEOR_UNAVAILABLE: Answers = {502: error("Saleor or CoinPayments did not answer.")}
SALEOR_WEBHOOK: Answers = {
    400: error("Empty, unparsable or unexpected payload, or the wrong event for this route."),
    401: error("Missing or invalid Saleor-Signature, or an unknown Saleor."),
    403: error("The webhook was meant for another app."),
    413: error("The body is larger than the app accepts."),
}


def install_openapi(app: FastAPI) -> None:
    """Serve a document that says only what the app answers.

    FastAPI adds a 422 `HTTPValidationError` to every route with parameters; this app has no
    parameter FastAPI could refuse (all are text) and answers a refused request with 400 and
    `{"error": …}` itself, so those 422s are dropped."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    answers = operation.get("responses", {})
                    refs = str(answers.get("422", ""))
                    if "HTTPValidationError" in refs:
                        del answers["422"]
            schemas = document.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
