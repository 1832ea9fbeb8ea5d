"""The Attention page's sections, one function per tab (panels.py). The page itself is
views/attention.py (its address stays /attention); it reads the sentence and the model and renders
the open tab only."""
