"""The GraphiQL playground, served whole from the package (see `vendored`)."""
