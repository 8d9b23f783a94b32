"""The work of Model Shelf: the store, the library's rules and its files.

Knows nothing of GraphQL."""
