"""The mutable state of one app, and the dependency routes get it through.

Private: :func:`service.app.create_app` stores an :class:`AppState` on ``app.state``.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from semsearch.service._errors import ApiError
from semsearch.service._metrics import Metrics
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime


class AppState:
    """Mutable state of one app: the runtime once loaded, or why loading failed."""

    def __init__(self, settings: ServiceSettings, runtime: Runtime | None) -> None:
        self.settings = settings
        self.runtime = runtime
        self.load_error: str | None = None
        self.metrics = Metrics()
        # Drawing a page holds tens of megabytes: a few at once, the rest answered 503.
        self.page_renders = threading.BoundedSemaphore(settings.max_page_renders)

    def require(self) -> Runtime:
        """The runtime, or a 503 while it loads (or after loading failed).

        Returns:
            The loaded runtime.
        """
        if self.runtime is None:
            detail = f": {self.load_error}" if self.load_error else ""
            raise ApiError(503, "not_ready", f"the model and index are not loaded{detail}")
        return self.runtime


# Async so resolving it costs no trip through the thread pool.
async def app_state(request: Request) -> AppState:
    """The state of the app serving the request.

    Args:
        request: The current request.

    Returns:
        The app's :class:`AppState`.
    """
    state: AppState = request.app.state.semsearch
    return state


# Only a dependency, never ``require()``: routes check readiness after validating input,
# so a malformed request gets its 422 even while the model loads.
StateDep = Annotated[AppState, Depends(app_state)]
