"""Reading: the readers (one module per format), reading a file into a Document, reading
many files in isolated worker processes, and adding an uploaded file to the documents folder."""
