"""Indexing: building and opening an index (the catalogue of a folder, the passage table, the
dense and lexical indexes, and the backends that hold them)."""
