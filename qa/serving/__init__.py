"""Serving: the web page, the REST and JSON/MCP APIs, sign-in, users, uploads and the folder watcher."""
