"""Serving: the web page, the REST and JSON/MCP APIs, sign-in, users and the folder watcher."""
