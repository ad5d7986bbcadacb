"""The HTTP/1.1 protocol ``semsearch serve`` runs: uvicorn's httptools protocol, whose own
answers (to a request it cannot parse, or a URL too long to hold) have the API's JSON shape.

uvicorn answers a request its parser refuses before the app sees it, with a plain-text
``400 Invalid HTTP request received.``. httptools cannot parse a URL over 65,535 bytes (it
keeps URL offsets in 16 bits), so a GET with a 100,000-character query met that answer
instead of the app's own ``too_long``. Here the URL is measured as it arrives: past
:data:`MAX_URL_BYTES` the request is answered ``414`` with ``{"error": {"code":
"too_long", ...}}`` naming the query limit, and any other unparseable request ``400``
``bad_request``, both JSON. A query over ``SEMSEARCH_MAX_QUERY_CHARS`` in a URL that fits
still reaches the app and gets its 422 ``too_long``.

Private: :mod:`service.commands.serve` passes :func:`protocol_for` to uvicorn.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from semsearch.service.config import ServiceSettings

# The longest request target (path and query string) the server reads: the most httptools
# can parse. Longer is answered 414 ``too_long`` before any of it reaches the app.
MAX_URL_BYTES = 65_535
# After such an answer the client may still be sending (a 1 MB URL): the rest is read and
# dropped for this long before the connection closes, since closing a socket with unread
# data makes the kernel reset the connection, and the client loses the answer.
LINGER_S = 5.0


class _UrlTooLong(Exception):
    """Raised from the parser's URL callback: the parser stops, ``data_received`` answers."""


class JsonErrorsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with JSON error answers and a URL length limit."""

    max_query_chars = ServiceSettings.model_fields["max_query_chars"].default

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url_too_long = False
        self.answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return  # what the client still sends after the error answer is dropped
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.url_too_long = False

    def on_url(self, url: bytes) -> None:
        # The URL may come in pieces; the check holds whatever their size.
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self.url_too_long = True
            raise _UrlTooLong
        super().on_url(url)

    def send_400_response(self, msg: str) -> None:
        if self.url_too_long:
            self.send_error(
                414,
                "too_long",
                f"the request URL is over {MAX_URL_BYTES:,} bytes; a query may hold at most "
                f"{self.max_query_chars:,} characters (SEMSEARCH_MAX_QUERY_CHARS), and a "
                "longer request goes in the body of POST /search",
            )
        else:
            self.send_error(400, "bad_request", f"not a valid HTTP/1.1 request ({msg})")

    def send_error(self, status: int, code: str, message: str) -> None:
        """Answer with the API's error body and close the connection (the parser stopped)."""
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-content-type-options: nosniff\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.answered = True
        self.transport.write(b"".join(content))
        if self.transport.can_write_eof():
            # Half-close: the client reads the answer to its end, then closes its side
            # (which closes ours), or the timer does.
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()


def protocol_for(settings: ServiceSettings) -> type[asyncio.Protocol]:
    """The protocol class to hand uvicorn (``http=``), its messages naming ``settings``' limits.

    Args:
        settings: The service's settings.

    Returns:
        A :class:`JsonErrorsProtocol` subclass.
    """
    return type(
        "SemsearchHttpProtocol",
        (JsonErrorsProtocol,),
        {"max_query_chars": settings.max_query_chars},
    )
