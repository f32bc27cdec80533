"""The embedded time-series engine: head, chunks in SQLite, tiers, retention (docs/storage.md)."""
