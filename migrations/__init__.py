"""Schema migrations (playhouse.migrations), shipped inside the casesvc package."""
