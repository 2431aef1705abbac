"""Embedding: the encoders that turn passages and questions into vectors (torch and ONNX runtimes)."""
