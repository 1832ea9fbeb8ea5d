"""The Position embeddings page's sections, one module per tab. The page itself is
views/positions.py (its address stays /positions); it reads the sentence and renders the open tab
only."""
