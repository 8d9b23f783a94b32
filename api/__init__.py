"""The transport of Model Shelf: GraphQL types and resolvers, the Starlette app, the CLI."""
