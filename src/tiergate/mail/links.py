"""Absolute links for messages: TIERGATE_PUBLIC_URL, else the request's host, else a fallback."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

logger = logging.getLogger("tiergate.mail")

#: Where links point when a message is queued outside a request and PUBLIC_URL is unset.
FALLBACK_PUBLIC_URL = "http://localhost:8000"


def absolute_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint``, one a browser that is not logged in can open."""
    public = current_app.config.get("TIERGATE_PUBLIC_URL")
    if not public and has_request_context():
        return url_for(endpoint, _external=True, **values)
    if not public:
        logger.warning(
            "TIERGATE_PUBLIC_URL is not set: a message queued outside a request links to %s",
            FALLBACK_PUBLIC_URL,
        )
        public = FALLBACK_PUBLIC_URL
    parts = urlsplit(str(public).rstrip("/"))
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)
