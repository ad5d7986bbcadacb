"""One module per ``semsearch`` verb; each exposes ``register(subparsers)``."""
