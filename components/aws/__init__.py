"""AWS components: the single GPU host, its network, recovery and night schedule."""
