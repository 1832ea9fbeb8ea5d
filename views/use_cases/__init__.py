"""The Use cases page, one module per tab; `views/use_cases.py` is the page file the router runs.

common          generation limits, "answered by", raw output, elapsed, examples, scores
calls           cached model calls (ui.page.on_handle: per model key and input)
translation, qa, generation, classification, ner   one tab each: render(k)
"""
