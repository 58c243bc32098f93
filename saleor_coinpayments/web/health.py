"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from saleor_coinpayments.web.answers import content
from saleor_coinpayments.web.deps import Ctx

router = APIRouter()


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={503: {"description": "The database does not answer: `{status: unavailable, database: <reason>}`."}},
)
async def ready(ctx: Ctx) -> JSONResponse:
    try:
        await ctx.db.ping()
    except Exception as exc:  # any failure means "not ready"; the reason is for the operator
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: content("Prometheus metrics (text exposition format).", "text/plain")},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
