"""Developer tooling: the local Neo4j server used by tests, benchmarks and `make neo4j`."""
