"""The GraphQL schema: thin resolvers over the services."""
