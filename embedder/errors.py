"""Exceptions that carry a message meant for the person at the keyboard."""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class: the message is complete and shown as-is (CLI: one stderr line)."""


class InputError(SemsearchError):
    """The user's input (file, flag, request) is unusable; CLI exit code 2, HTTP 4xx.

    Args:
        message: What is wrong, in the library's terms.
        options: Names of the options (``IngestOptions`` fields, settings) that would fix
            it; a front end names them its own way (the CLI as flags).
    """

    def __init__(self, message: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class ModelError(SemsearchError):
    """The model is missing, corrupt or does not match what a collection was built with."""
