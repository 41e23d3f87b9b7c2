"""CPB-KG: the Cartagena Protocol Implementation Plan 2023-2030 as a knowledge graph."""

__version__ = "0.1.0"
