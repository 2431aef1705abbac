"""Showing: a search's hits as citations, exports and document views."""
