"""The single GPU host: the files of its bundle."""
