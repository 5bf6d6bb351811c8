"""Fuzzing the CLI and every RPC of a real server with mutated media; see :mod:`tests.fuzz.runner`.

``python -m tests.fuzz --count 10000`` is the long run; ``test_fuzz_short.py`` the short one in the suite.
"""
