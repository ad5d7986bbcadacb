"""Exceptions that carry a message meant for the person at the keyboard."""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class: the message is complete and shown as-is (CLI: one stderr line)."""


class InputError(SemsearchError):
    """The user's input (file, flag, request) is unusable; CLI exit code 2, HTTP 4xx."""


class ModelError(SemsearchError):
    """The model is missing, corrupt or does not match what a collection was built with."""
