"""Chunking: cutting a Document into the Passages that are indexed and cited."""
