"""Bridge the engine's thread-side generation to the event loop, and stop it when nobody listens.

Generation runs on the engine's own thread; here each chunk is awaited in a worker thread
so the event loop (which also serves the UI's websockets) never blocks. The wait is
abandoned on cancellation, so a client that leaves stops its request at once, even while
it is still queued behind others on the engine lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import anyio
from starlette.requests import Request

from core.models.engine import Generation

_END = object()


async def chunks(gen: Generation) -> AsyncIterator[str]:
    """The generation's text chunks; leaving the loop early (or being cancelled) stops it."""
    it = iter(gen)
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, it, _END, abandon_on_cancel=True)
            if chunk is _END:
                return
            yield chunk
    finally:
        gen.stop()


async def stop_on_disconnect(request: Request, gen: Generation) -> None:
    """Watch the connection of a non-streaming request; a disconnect stops its generation."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gen.stop()
            return


async def wait_finished(gen: Generation, timeout: float = 5.0) -> None:
    """Let the engine thread write its final stats (token counts) before they are reported."""
    await anyio.to_thread.run_sync(gen.finished.wait, timeout, abandon_on_cancel=True)


class StopFilter:
    """Cuts a streamed answer before the first stop sequence.

    Holds back just enough characters to recognise a stop string split across chunks.
    """

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.keep = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""
        self.hit = False

    def feed(self, chunk: str) -> str:
        self.buffer += chunk
        found = [i for s in self.stops if (i := self.buffer.find(s)) >= 0]
        if found:
            out, self.buffer, self.hit = self.buffer[: min(found)], "", True
            return out
        cut = len(self.buffer) - self.keep
        if cut <= 0:
            return ""
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


async def collect(request: Request, gen: Generation, stops: list[str]) -> tuple[str, bool]:
    """The whole answer of a non-streaming request (cut at a stop sequence) and whether one was hit."""
    text, flt = [], StopFilter(stops)
    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_on_disconnect, request, gen)
        async with aclosing(chunks(gen)) as stream:
            async for chunk in stream:
                text.append(flt.feed(chunk))
                if flt.hit:
                    break
        tg.cancel_scope.cancel()
    text.append(flt.flush())
    return "".join(text), flt.hit
