"""Structured logs: ``key=value`` text by default, or one JSON object per line.

Log calls write ``"event key=value ..."``; the JSON formatter keeps that text
as ``msg`` and adds time, level and logger, which log shippers index.

>>> import logging
>>> rec = logging.LogRecord("ingest", logging.INFO, __file__, 1, "batch rows=%d", (3,), None)
>>> JsonFormatter().format(rec).endswith('"level":"INFO","logger":"ingest","msg":"batch rows=3"}')
True
"""

from __future__ import annotations

import logging
import time

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


def use_json_logs() -> None:
    """Switch every handler of the root logger to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
