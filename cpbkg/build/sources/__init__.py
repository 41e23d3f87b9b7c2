"""Reading the project's source material (``data/``) into RDF, one module per source."""
