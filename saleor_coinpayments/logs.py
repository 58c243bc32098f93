"""structlog set-up: console or JSON lines, request context, and secrets masked in every line."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY_NAMES = re.compile(r"(secret|token|password|authorization|signature|api_key|private)", re.IGNORECASE)
MASK = "***"


def mask_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of any key that names a secret, at any depth of dicts."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (MASK if _SECRET_KEY_NAMES.search(str(k)) else scrub(v)) for k, v in value.items()}
        return value

    for key in list(event_dict):
        if key != "event" and _SECRET_KEY_NAMES.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = scrub(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.basicConfig(level=level, format="%(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
