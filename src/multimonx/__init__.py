"""MultiMonX: self-hosted fleet monitoring that speaks the Prometheus ecosystem."""

__version__ = "0.1.0"

__all__ = ["__version__"]
