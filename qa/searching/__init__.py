"""Searching: ranking passages for a question (dense and lexical signals, fusion, feedback, reranking)."""
