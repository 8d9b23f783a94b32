"""GraphQL object types, one module per group; each converts from a domain record with `of`."""
