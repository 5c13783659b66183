"""writein crypto."""
