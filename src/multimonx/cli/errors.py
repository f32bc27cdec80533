"""Errors the command line reports as one clear line (exit status 2), never as a traceback."""


class UsageError(Exception):
    """A problem with the command line, the configuration or the data directory."""
