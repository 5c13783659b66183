"""writein bot."""
