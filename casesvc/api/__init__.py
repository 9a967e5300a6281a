"""The HTTP API: thin views over the case service."""
