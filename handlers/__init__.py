"""writein handlers."""
