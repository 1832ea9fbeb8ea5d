"""Teaching code: plain Python/PyTorch, one concept per file, no Streamlit."""
