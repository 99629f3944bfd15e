"""Reading a POST body safely: ``content_length`` checks the ``Content-Length`` header before a byte of the
body is read (missing: 411, not a non-negative integer or several disagreeing: 400, over the limit: 413),
and ``read_body`` reads exactly that many bytes within one deadline (a stalled client: 408), so neither a
bad header nor a slow client can make a handler thread read without end.
"""
from __future__ import annotations

import re
import socket
import time

_DIGITS = re.compile(r"[0-9]+")


class Refusal(Exception):
    """An HTTP error answered before (or instead of) reading the body; the connection is then closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def content_length(headers, max_bytes: int) -> int:
    """The body's length from the request headers, or a ``Refusal``."""
    values = headers.get_all("Content-Length") or []
    if not values:
        chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        raise Refusal(411, "a POST needs a Content-Length header" +
                      (" (chunked request bodies are not supported)" if chunked else ""))
    text = {v.strip() for v in values}
    if len(text) != 1 or not _DIGITS.fullmatch(next(iter(text))):
        raise Refusal(400, f"invalid Content-Length header {', '.join(values)!r:.80}: it must be one "
                      "non-negative integer")
    length = int(text.pop())
    if length > max_bytes:
        raise Refusal(413, f"Content-Length {length} is over this server's limit of {max_bytes} bytes")
    return length


def read_body(connection: socket.socket, rfile, length: int, timeout: float) -> bytes:
    """Exactly ``length`` bytes of body, all within ``timeout`` seconds; the socket's timeout is restored."""
    parts, got, deadline = [], 0, time.monotonic() + timeout
    try:
        while got < length:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            connection.settimeout(left)
            part = rfile.read1(min(length - got, 1 << 16))
            if not part:
                raise Refusal(400, f"the request body ended after {got} of the {length} bytes in Content-Length")
            parts.append(part)
            got += len(part)
    except TimeoutError:
        raise Refusal(408, f"the request body did not arrive within {timeout:g} s ({got} of {length} bytes)") \
            from None
    finally:
        connection.settimeout(timeout)
    return b"".join(parts)
