"""A DeepSeek-style mixture-of-experts GPT: the model (`model.py`), its trainer (`trainer.py`)
and the command line (`python -m models.moe`)."""
