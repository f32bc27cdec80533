"""Storage: the interface every backend implements, the in-memory reference store, its
journal, and the API-key store (metadata).

Other packages import storage names from here only.
"""

from multimonx.storage.hosts import HostStore
from multimonx.storage.interface import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Appender,
    AppenderFinishedError,
    AppendResult,
    InvalidSampleError,
    Querier,
    SelectHints,
    Series,
    SeriesSet,
    Storage,
    StorageClosed,
    StorageError,
    StorageStats,
    StorageUnavailable,
    select_sets_of,
)
from multimonx.storage.journal import (
    Journal,
    JournalCorruptError,
    JournalSync,
    SeriesSamples,
    decode_batch,
    encode_batch,
)
from multimonx.storage.keys import ApiKey, KeyStore, KeyStoreError, SqliteKeyStore
from multimonx.storage.memory import MemoryStorage
from multimonx.storage.periodic import PeriodicTask

__all__ = [
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "ApiKey",
    "AppendResult",
    "Appender",
    "AppenderFinishedError",
    "InvalidSampleError",
    "Journal",
    "JournalCorruptError",
    "JournalSync",
    "HostStore",
    "KeyStore",
    "KeyStoreError",
    "MemoryStorage",
    "PeriodicTask",
    "Querier",
    "SelectHints",
    "Series",
    "SeriesSamples",
    "SeriesSet",
    "SqliteKeyStore",
    "Storage",
    "StorageClosed",
    "StorageError",
    "StorageStats",
    "StorageUnavailable",
    "select_sets_of",
    "decode_batch",
    "encode_batch",
]
