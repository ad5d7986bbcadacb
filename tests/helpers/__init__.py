"""What several test modules share: paths, small collections, CLI and browser drivers.

Test modules import from here (and from ``tests.fakes``), never from one another; nothing
here builds or loads anything at import time.
"""
