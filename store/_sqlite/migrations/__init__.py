"""SQL migrations for the SQLite backend, applied in file-name order."""
