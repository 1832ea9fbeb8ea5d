"""The 25-step course map. `page` names the built page file; topics without one are not in the
navigation yet (the home page lists them as coming, without a link)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    section: str
    title: str
    blurb: str  # what the page lets you do
    page: str | None = None  # views/<file>.py when built
    icon: str = ":material/school:"


SECTIONS = ("Foundations", "Core models & projects", "Advanced", "Generative", "Modern LLMs")

COURSE: tuple[Topic, ...] = (
    Topic(
        "Foundations",
        "Use cases",
        "Translation, QA, generation, classification and NER, live on your text.",
        page="views/use_cases.py",
        icon=":material/apps:",
    ),
    Topic(
        "Foundations",
        "High-level architecture",
        "Encoder, decoder and encoder-decoder; one real forward pass, every tensor shape.",
        page="views/architecture.py",
        icon=":material/account_tree:",
    ),
    Topic(
        "Foundations",
        "Tokenization",
        "Compare WordPiece and byte-level BPE on your text; train BPE, WordPiece and Unigram; "
        "step through BPE merge by merge.",
        page="views/tokenization.py",
        icon=":material/token:",
    ),
    Topic(
        "Foundations",
        "Attention",
        "bertviz head/model views, per-head heatmaps, and one head computed by hand.",
        page="views/attention.py",
        icon=":material/visibility:",
    ),
    Topic(
        "Foundations",
        "Position embeddings",
        "Sinusoidal, learned and rotary positions, with sliders.",
        page="views/positions.py",
        icon=":material/pin_drop:",
    ),
    Topic(
        "Core models & projects",
        "Project 1: sentiment transformer from scratch",
        "Train a small transformer classifier live and watch the curves.",
        page="views/sentiment.py",
        icon=":material/sentiment_satisfied:",
    ),
    Topic(
        "Core models & projects",
        "BERT & RoBERTa",
        "Masking, tokenizers and contextual embeddings, shown not told.",
        page="views/bert_roberta.py",
        icon=":material/compare_arrows:",
    ),
    Topic(
        "Core models & projects",
        "Project 2: summarization with BERT",
        "Extractive summaries from sentence embeddings, and why each sentence was picked.",
        page="views/summarization.py",
        icon=":material/summarize:",
    ),
    Topic(
        "Advanced",
        "Knowledge distillation",
        "Teacher, student and soft targets, trained live.",
        page="views/distillation.py",
        icon=":material/school:",
    ),
    Topic(
        "Advanced",
        "DistilBERT",
        "What was removed from BERT, and what it cost.",
        page="views/distilbert.py",
        icon=":material/compress:",
    ),
    Topic(
        "Advanced",
        "Long context: RoPE & Flash Attention",
        "RoPE scaling past the training length; tiling with the online softmax.",
        page="views/long_context.py",
        icon=":material/straighten:",
    ),
    Topic(
        "Advanced",
        "Fine-tuning techniques",
        "Full, frozen, adapters: what moves and what it costs.",
        page="views/finetuning.py",
        icon=":material/tune:",
    ),
    Topic(
        "Advanced",
        "LoRA",
        "Low-rank updates with peft, on a real model.",
        page="views/lora.py",
        icon=":material/low_priority:",
    ),
    Topic(
        "Advanced",
        "T5",
        "Text-to-text: one model, every task as a string.",
        page="views/t5.py",
        icon=":material/swap_horiz:",
    ),
    Topic(
        "Advanced",
        "Project 3: T5 for NER",
        "Named entities as generated text.",
        page="views/t5_ner.py",
        icon=":material/label:",
    ),
    Topic(
        "Generative",
        "GPT",
        "Next-token probabilities, sampling knobs, step-by-step generation.",
        page="views/gpt.py",
        icon=":material/auto_awesome:",
    ),
    Topic(
        "Generative",
        "Project 4: GPT from scratch",
        "A character-level GPT trained live with PyTorch & Lightning.",
        page="views/gpt_scratch.py",
        icon=":material/model_training:",
    ),
    Topic(
        "Generative",
        "Alignment: RLHF & DPO",
        "Preference data, reward models and DPO's loss.",
        page="views/alignment.py",
        icon=":material/thumbs_up_down:",
    ),
    Topic(
        "Generative",
        "Project 5: improving GPT responses with DPO",
        "DPO on a small model, live.",
        page="views/dpo.py",
        icon=":material/recommend:",
    ),
    Topic(
        "Modern LLMs",
        "LLMs",
        "Scale, data and what changed since GPT-2.",
        page="views/llms.py",
        icon=":material/calculate:",
    ),
    Topic(
        "Modern LLMs",
        "Llama architecture",
        "RMSNorm, SwiGLU, RoPE and GQA on SmolLM2's real weights.",
        page="views/llama.py",
        icon=":material/account_tree:",
    ),
    Topic(
        "Modern LLMs",
        "Project 6: fine-tuning Llama for medical QA with LitGPT",
        "LoRA fine-tuning of a Llama-architecture model on QA pairs.",
        page="views/medqa.py",
        icon=":material/medical_services:",
    ),
    Topic(
        "Modern LLMs",
        "DeepSeek",
        "Mixture of experts, multi-head latent attention, reasoning.",
        page="views/deepseek.py",
        icon=":material/hub:",
    ),
    Topic(
        "Modern LLMs",
        "GRPO",
        "Group-relative policy optimisation with verifiable rewards.",
        page="views/grpo.py",
        icon=":material/leaderboard:",
    ),
    Topic(
        "Modern LLMs",
        "Project 7: local inference with DeepSeek via Ollama",
        "Talk to a local model server, with a clear message when none runs.",
        page="views/ollama.py",
        icon=":material/dns:",
    ),
)

USE_CASES = (
    ("Machine translation", "Text (and code) from one language to another."),
    ("Question answering", "Find the answer to a question in a given passage."),
    ("Text generation", "Continue a prompt, summarise an email, chat."),
    ("Text classification", "Sentiment, topic or spam, with labels you choose."),
    ("Named entity recognition", "People, organisations, places and dates in text."),
)


def built_topics() -> list[Topic]:
    return [t for t in COURSE if t.page]


START_PAGES = ("views/home.py", "views/preflight.py")  # the "Start" section, before the course


def all_pages() -> list[str]:
    """Every page in the navigation: the start pages, then each built topic."""
    return [*START_PAGES, *(t.page for t in built_topics())]
