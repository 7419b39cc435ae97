"""Claims of the chapters that re-run an experiment: one module per chapter (see tests/chapter_code.py)."""
