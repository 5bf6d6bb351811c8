"""Subcommands of the ``stream-restore`` command; each module has ``add_arguments`` and ``run``."""
