"""The `modelshelf` subcommands that talk to a running server over GraphQL, as scripts do."""
