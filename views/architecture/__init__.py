"""The High-level architecture page's sections, one module per tab. The page itself is
views/architecture.py (its address stays /architecture); it reads the family and the sentence and
renders the open tab only."""
