"""Reading resources, pages, search hits, the linkage matrix and the ontology documentation out of a store."""
