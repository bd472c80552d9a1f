"""Run records: reading Sacred run folders back, grouping them, selecting step sizes from them, and the statistics over seeds."""
