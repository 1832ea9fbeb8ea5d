"""The Tokenization page's sections, one module per tab. The page itself is views/tokenization.py
(its address stays /tokenization); it reads the controls and calls `render` of the open tab."""
