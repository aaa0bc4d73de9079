"""Errors a user can cause and fix: the CLI shows their one-line message, never a traceback."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["GomeUserError", "EndpointError", "invalid_option"]

# configuration fields whose command-line option is not their name with dashes
_OPTIONS = {"time_budget_s": "--time-budget", "exec_timeout_s": "--exec-timeout", "confirm_time_s": "--confirm-time",
            "replay_from": "--replay", "roles_dir": "--roles", "input_per_mtok": "--price-in", "output_per_mtok": "--price-out"}


class GomeUserError(Exception):
    """An error the user can cause and fix; its message is one line naming the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class EndpointError(GomeUserError):
    """The model endpoint cannot be used: unreachable, bad key, unknown model."""


def invalid_option(exc: ValidationError) -> GomeUserError:
    """A command-line value that the configuration refuses, in one line: the option, the value, why."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    option = _OPTIONS.get(field, "--" + field.replace("_", "-"))
    why = error["msg"]
    return GomeUserError(f"{option} {error.get('input')!r}: {why[:1].lower()}{why[1:]}")
