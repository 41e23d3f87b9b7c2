"""Where the graph lives: the embedded pyoxigraph store, a remote SPARQL store, publishing to one."""
