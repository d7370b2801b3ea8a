"""The offline plan: run the Pulumi program under recording mocks, report, diff and summarise it."""
