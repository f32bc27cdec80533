"""The embedded time-series engine: head, chunks in SQLite, tiers, retention (docs/storage.md)."""

from multimonx.storage.tsdb.chunkenc import ChunkCodec, ChunkFormatError
from multimonx.storage.tsdb.db import TSDB, TSDBAppender
from multimonx.storage.tsdb.options import TSDBCounters, TSDBOptions
from multimonx.storage.tsdb.querier import TSDBQuerier
from multimonx.storage.tsdb.usage import TierUsage

__all__ = [
    "TSDB",
    "ChunkCodec",
    "ChunkFormatError",
    "TSDBAppender",
    "TSDBCounters",
    "TSDBOptions",
    "TSDBQuerier",
    "TierUsage",
]
