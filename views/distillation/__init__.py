"""The Knowledge distillation page's sections. The page itself is views/distillation.py (its
address stays /distillation): the loss with its sliders, then the open tab."""
