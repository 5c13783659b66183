"""writein store."""
