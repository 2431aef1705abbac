"""Evaluating: retrieval metrics over rankings, question sets, runs and BEIR collections."""
