"""Training: datasets, degradations, losses, recipes and the resumable loop (never imported by the server).

``stream-restore train RECIPE`` (training/command.py) runs one recipe from training/recipes/; each
recipe names the registered model it trains, so the shipped weights and their training command stay
side by side.
"""

from __future__ import annotations
