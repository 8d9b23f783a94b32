"""Changing what the library holds: the rules of each edit, free of GraphQL."""
