"""Reading: the readers (one module per format), reading a file into a Document, and reading
many files in isolated worker processes."""
