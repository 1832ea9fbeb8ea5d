"""Write the distillation page's unlabelled reviews: `python -m scripts.unlabelled_reviews`.

A student learns from its teacher's soft labels on text nobody labelled (Hinton et al. 2015; Tang
et al. 2019 distil BERT into small networks on an augmented transfer set). These sentences are
composed from the phrase lists below, written for the gallery: aspects of a film, words of praise
and of blame, negations and contrasts. They carry no label: the teacher gives them one. None of
them is a sentence of the labelled sample (assets/sentiment/sample.jsonl); many use the words its
`test` rows use, as unlabelled reviews from the same domain would.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sentiment" / "sample.jsonl"
OUT = ROOT / "assets" / "sentiment" / "unlabelled.jsonl"

ASPECTS = (
    "the acting", "the story", "the plot", "the script", "the screenplay", "the score",
    "the soundtrack", "the music", "the cinematography", "the editing", "the pacing",
    "the dialogue", "the ending", "the finale", "the climax", "the opening", "the cast",
    "the ensemble", "the lead", "the star", "the heroine", "the villain", "the antagonist",
    "the premise", "the narrative", "the humour", "the direction", "the romance", "the action",
    "the second half", "the first act", "the animation", "the camera work", "the twist",
    "the sequel", "the remake",
)  # fmt: skip
PLURAL = (
    "the visuals", "the effects", "the sets", "the costumes", "the gags", "the jokes",
    "the performances", "the characters", "the battle scenes", "the songs",
)  # fmt: skip
KINDS = (
    "film", "movie", "picture", "comedy", "drama", "thriller", "romance", "documentary",
    "musical", "western", "mystery", "adventure", "spectacle", "sequel", "remake", "biopic",
)  # fmt: skip
PRAISE = """great wonderful superb brilliant excellent funny moving charming delightful beautiful
clever lovely fantastic terrific enjoyable fresh smart warm powerful gorgeous perfect impressive
strong touching entertaining exciting sublime riveting exquisite dazzling masterful heartfelt
luminous enthralling exhilarating tender witty stellar spellbinding inventive flawless captivating
breathtaking radiant hilarious marvelous magnificent compelling stunning uplifting engrossing
poignant splendid glorious absorbing rewarding triumphant joyous brisk convincing vivid elegant
graceful gripping thrilling affecting charismatic inspired sparkling assured wondrous""".split()  # noqa: SIM905
BLAME = """awful boring dull terrible bad weak clumsy lifeless tedious stale messy painful poor
silly slow ugly lazy annoying confusing predictable cheap empty bland disappointing dreadful
insipid lackluster tiresome abysmal grating shoddy vapid turgid inept leaden dire mediocre
incoherent atrocious dismal hollow pointless dreary tepid amateurish clunky soulless unbearable
pedestrian listless muddled overlong cringeworthy woeful trite hackneyed wooden forgettable
sluggish flimsy stilted jumbled limp drab lumbering ponderous shallow uninspired bloated joyless
sloppy""".split()  # noqa: SIM905
GOOD_NOUNS = "masterpiece gem treat triumph delight joy pleasure blast marvel winner revelation"
BAD_NOUNS = "disaster fiasco chore slog snooze letdown mess bore waste failure dud misfire"
LIKED = ("adored", "loved", "enjoyed", "relished", "savoured", "treasured")
DISLIKED = ("loathed", "hated", "disliked", "endured", "regretted", "resented")
NEGATIONS = ("not", "hardly", "never", "far from", "anything but", "in no way", "rarely")


def _aspect(rng: random.Random, avoid: str = "") -> str:
    while True:
        name = rng.choice(ASPECTS + PLURAL)
        if name != avoid:
            return f"{name} {'are' if name in PLURAL else 'is'}"


def sentence(rng: random.Random) -> str:
    """One review sentence of a random shape and polarity (the polarity is not kept)."""
    good = rng.random() < 0.5

    def word(g: bool) -> str:
        return rng.choice(PRAISE if g else BLAME)

    a = _aspect(rng)
    b = _aspect(rng, avoid=a.rsplit(" ", 1)[0])
    shape = rng.randrange(8)
    if shape == 0:
        return f"{a} {word(good)}"
    if shape == 1:
        return f"{a} {word(good)} and {b} {word(good)}"
    if shape == 2:
        x = word(good)
        return f"{'an' if x[0] in 'aeiou' else 'a'} {x} and {word(good)} {rng.choice(KINDS)}"
    if shape == 3:
        frame = rng.choice(("what a {}", "the movie is a {}", "an absolute {}", "a real {}"))
        return frame.format(rng.choice((GOOD_NOUNS if good else BAD_NOUNS).split()))
    if shape == 4:
        return f"{a} {rng.choice(NEGATIONS)} {word(good)}"
    if shape == 5:
        return f"{a} {word(good)}, {rng.choice(('but', 'yet'))} {b} {word(not good)}"
    if shape == 6:
        since = rng.choice(("although", "while", "even though"))
        return f"{since} {a} {word(good)}, {b} {word(not good)}"
    what = rng.choice(("it", "every minute of it", "this one", "the whole thing", "the first hour"))
    return f"i {rng.choice(LIKED if good else DISLIKED)} {what}"


def reviews(
    n: int = 1_000, seed: int = 0, exclude: set[str] | frozenset = frozenset()
) -> list[str]:
    """`n` distinct sentences, none of them in `exclude`."""
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < n:
        s = sentence(rng)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1_000
    labelled = {json.loads(line)["text"] for line in SAMPLE.read_text().splitlines() if line}
    OUT.write_text("".join(json.dumps({"text": s}) + "\n" for s in reviews(n, 0, labelled)))
    print(f"wrote {n:,} sentences to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
