"""The GPT page's sections, one module per tab. The page itself is views/gpt.py (its address
stays /gpt); it reads the prompt and the knobs into one GenConfig and calls the open tab."""
