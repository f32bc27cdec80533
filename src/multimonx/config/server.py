"""Typed configuration of the central server (``multimonx server --config FILE``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from multimonx.config.agent import DEFAULT_SERVER_PORT
from multimonx.config.loader import ByteSize, parse_listen_address


@dataclass(frozen=True, slots=True)
class IngestSection:
    """Limits and policy for pushed data."""

    require_api_key: bool = True
    max_body_bytes: ByteSize = 64 * 2**20
    max_series_per_request: int = 1_000_000
    max_labels_per_series: int = 64
    max_label_value_length: int = 4096
    down_after_intervals: float = 3.0


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The whole server configuration."""

    listen_address: str = f"127.0.0.1:{DEFAULT_SERVER_PORT}"
    data_dir: str = "./data"
    ingest: IngestSection = field(default_factory=IngestSection)

    def __post_init__(self) -> None:
        try:
            parse_listen_address(self.listen_address)
        except ValueError as err:
            raise ValueError(f"listen_address: {err}") from None
