"""The HTTP service: SPARQL endpoint, linked-data pages, dumps and UI."""
