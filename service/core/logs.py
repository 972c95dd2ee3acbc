"""Structured logging: one JSON object per line, carrying the request id.

Web requests and RQ jobs both log with the id of the request that caused them: the
web app reads or makes ``X-Request-ID``; the scoring job receives it in its meta.
Log ids, never comment bodies or e-mail addresses.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The id of the request (or of the request that queued the job) being handled.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

#: Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


class LogSettings(BaseSettings):
    """How to log; read on its own so that every subcommand can log before settings load."""

    model_config = SettingsConfigDict(env_prefix="COMMENTGATE_", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe level logged."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json` (one object per line) or `text` for people."
    )


class JsonFormatter(logging.Formatter):
    """Formats records as single-line JSON objects."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key in _STANDARD or key == "request_id" or key.startswith("_") or value is None:
                continue
            entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


def configure_logging(verbose: bool = False) -> None:
    """Install the root handler per ``COMMENTGATE_LOG_LEVEL`` and ``_LOG_FORMAT``."""
    try:
        settings = LogSettings()
    except ValueError:
        settings = LogSettings.model_construct(log_level="INFO", log_format="json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel("DEBUG" if verbose else settings.log_level)
    # RQ and gunicorn log through their own loggers: route them here, quieter.
    for name in ("rq.worker", "rq.scheduler", "rq.cron", "gunicorn.error"):
        lib = logging.getLogger(name)
        lib.handlers[:] = []
        lib.propagate = True
        lib.setLevel(max(root.level, logging.WARNING))
