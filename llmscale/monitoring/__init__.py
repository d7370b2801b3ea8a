"""Monitoring generated from the stack: alert and recording rules, dashboards."""
