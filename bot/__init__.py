"""The Grove process: command line, configuration, the Discord bot runtime."""
