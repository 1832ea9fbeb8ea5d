"""The BERT & RoBERTa page's sections, one module per tab. The page itself is views/bert_roberta.py
(its address stays /bert_roberta); it draws the header and calls the open tab's `render()`."""
