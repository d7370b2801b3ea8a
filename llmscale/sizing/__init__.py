"""Capacity planning: GPU catalog, calibration, model sizes, prices, the planner and the cost of a stack."""
