"""One recipe per shipped model; each module exposes ``RECIPE``."""
