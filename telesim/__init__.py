"""writein telesim."""
