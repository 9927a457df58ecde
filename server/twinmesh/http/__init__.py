"""The starlette application: GraphQL, health, and (later) federation and admin routes."""
