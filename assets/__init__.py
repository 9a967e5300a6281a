"""Sample determinations, shipped inside the casesvc package."""
