"""Errors a user can cause and fix: the CLI shows their one-line message, never a traceback."""

from __future__ import annotations

__all__ = ["GomeUserError", "EndpointError"]


class GomeUserError(Exception):
    """An error the user can cause and fix; its message is one line naming the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class EndpointError(GomeUserError):
    """The model endpoint cannot be used: unreachable, bad key, unknown model."""
