"""Tokenizer output aligned to the text it came from.

A fast tokenizer returns, for every token, its id, its vocabulary string ("Ġtoken", "##ize",
"[CLS]") and offsets: the characters [start, end) of the original text it covers. Offsets are
what let a page color the *original* text token by token. Three cases need care:

- special tokens added by the tokenizer ([CLS], [SEP]) cover no characters: offsets (0, 0);
- text the tokenizer skips (spaces, for WordPiece) belongs to no token: a gap;
- byte-level BPE can split one character (an emoji is 4 UTF-8 bytes) over several tokens, which
  then all point at the same character: overlapping tokens are drawn as one span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Token:
    id: int
    piece: str  # the vocabulary string: "Ġtoken" (byte-level BPE), "##ize" (WordPiece)
    start: int  # offsets into the original text, in characters
    end: int
    special: bool  # added by the tokenizer, or a special token typed in the text

    @property
    def inserted(self) -> bool:
        """Added by the tokenizer: it stands for no characters of the text."""
        return self.start == self.end


@dataclass(frozen=True)
class Span:
    text: str  # what to draw: a slice of the original text, or the piece of an inserted token
    start: int
    end: int
    tokens: tuple[int, ...]  # indices into the token list; () for a gap
    kind: Literal["token", "gap", "special"]


def tokenize(
    tokenizer: Any, text: str, add_special_tokens: bool = True, split_special_tokens: bool = False
) -> list[Token]:
    """Tokens of a transformers fast tokenizer, with offsets and special-token flags.

    split_special_tokens=True treats a typed "[CLS]" or "<|im_start|>" as plain text, so a user
    cannot inject control tokens into a prompt.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} is not a fast tokenizer: it has no offsets.")
    enc = tokenizer(
        text,
        add_special_tokens=add_special_tokens,
        split_special_tokens=split_special_tokens,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        verbose=False,  # no "longer than the model's maximum length" warning: we only count
    )
    ids = enc["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    # [UNK] is "special" to transformers, but it stands for real text: keep it a plain token.
    specials = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    return [
        Token(i, piece, s, e, bool(mask) or i in specials)
        for i, piece, (s, e), mask in zip(
            ids, pieces, enc["offset_mapping"], enc["special_tokens_mask"], strict=True
        )
    ]


def from_encoding(tokenizer: Any, encoding: Any) -> list[Token]:
    """Tokens of a raw `tokenizers.Tokenizer` encoding (the ones trained on this page).

    The piece comes from the vocabulary, not from `encoding.tokens`: Unigram reports an unknown
    character as itself there, though its id is the unknown token's.
    """
    return [
        Token(i, tokenizer.id_to_token(i) or tok, s, e, bool(mask))
        for i, tok, (s, e), mask in zip(
            encoding.ids,
            encoding.tokens,
            encoding.offsets,
            encoding.special_tokens_mask,
            strict=True,
        )
    ]


def align(text: str, tokens: list[Token], show_special: bool = True) -> list[Span]:
    """Cut `text` into spans: one per token (or per group of tokens sharing characters), plus the
    gaps no token covers. Joining the spans that are not inserted tokens gives back `text`."""
    spans: list[Span] = []
    cursor = 0  # end of the text covered so far
    last = -1  # index in `spans` of the last span that covers text
    for i, tok in enumerate(tokens):
        if tok.inserted:
            if show_special:
                spans.append(Span(tok.piece, cursor, cursor, (i,), "special"))
            continue
        if tok.start < cursor and last >= 0:
            # Shares characters with the previous span (bytes of one character): extend it.
            prev = spans[last]
            end = max(prev.end, tok.end)
            spans[last] = Span(
                text[prev.start : end], prev.start, end, (*prev.tokens, i), prev.kind
            )
            cursor = end
            continue
        if tok.start > cursor:
            spans.append(Span(text[cursor : tok.start], cursor, tok.start, (), "gap"))
        spans.append(
            Span(
                text[tok.start : tok.end],
                tok.start,
                tok.end,
                (i,),
                "special" if tok.special else "token",
            )
        )
        last = len(spans) - 1
        cursor = tok.end
    if cursor < len(text):
        # Trailing text no token covers goes before trailing inserted tokens such as [SEP].
        at = len(spans)
        while (
            at > 0 and spans[at - 1].kind == "special" and spans[at - 1].start == spans[at - 1].end
        ):
            at -= 1
        spans.insert(at, Span(text[cursor:], cursor, len(text), (), "gap"))
    return spans


@dataclass(frozen=True)
class Stats:
    tokens: int  # everything the model would see, special tokens included
    content_tokens: int  # tokens that cover text
    special_tokens: int
    unknown: int  # how many are the unknown token: text the vocabulary cannot spell
    chars_per_token: float  # characters of text per content token (higher = better compression)


def stats(text: str, tokens: list[Token], unk_id: int | None = None) -> Stats:
    content = [t for t in tokens if not t.inserted]
    return Stats(
        tokens=len(tokens),
        content_tokens=len(content),
        special_tokens=sum(t.special for t in tokens),
        unknown=sum(t.id == unk_id for t in tokens) if unk_id is not None else 0,
        chars_per_token=len(text) / len(content) if content else 0.0,
    )


def token_rows(text: str, tokens: list[Token], show_special: bool = True) -> list[dict]:
    """One row per token for a table: index, piece, id, offsets, the text it covers."""
    return [
        {
            "#": i,
            "piece": t.piece,
            "id": t.id,
            "start": t.start,
            "end": t.end,
            "text": text[t.start : t.end],
            "special": t.special,
        }
        for i, t in enumerate(tokens)
        if show_special or not t.inserted
    ]


def ids_preview(tokens: list[Token], limit: int = 200) -> str:
    """The ids as the model reads them, the first `limit` of them, saying how many are left."""
    ids = [t.id for t in tokens]
    more = f" … (+{len(ids) - limit:,} more)" if len(ids) > limit else ""
    return str(ids[:limit]) + more
