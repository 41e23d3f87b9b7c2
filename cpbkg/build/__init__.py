"""The build phase: sources -> RDF parts -> reasoning -> SHACL -> ``dist/``."""
