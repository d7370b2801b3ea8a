"""What every platform serves with: vLLM's arguments and metric names, API keys, the night schedule."""
