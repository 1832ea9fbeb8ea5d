"""The plain LitGPT commands for the same recipe, and for Llama-3.1-8B-Instruct on a GPU."""

from __future__ import annotations

import json

from models.medqa.data import MODEL_NAME, Settings

# --- LitGPT's own command lines ----------------------------------------------------------------


def litgpt_commands(out: str, minutes: float = 3.0) -> str:
    """`litgpt finetune_lora` with the settings `train` uses (SmolLM2 prompt, prompt masked,
    LoRA r 8 on q and v, batch 4, AdamW at the same learning rate, fp32 on a CPU)."""
    s = Settings()
    opt = json.dumps(
        {"class_path": "torch.optim.AdamW", "init_args": {"lr": s.lr, "weight_decay": 0.0}}
    )
    return "\n".join(
        [
            "# the embedded SmolLM2 (HF safetensors + tokenizer) -> a LitGPT checkpoint",
            f"litgpt convert_to_litgpt checkpoints/{MODEL_NAME} --model_name {MODEL_NAME}",
            f"litgpt finetune_lora checkpoints/{MODEL_NAME} \\",
            "  --data JSON --data.json_path assets/medqa/train.json --data.val_split_fraction 0.1"
            " \\",
            "  --data.prompt_style smollm2 --data.mask_prompt true \\",
            f"  --lora_r {s.lora_r} --lora_alpha {s.lora_alpha} --lora_dropout {s.lora_dropout} "
            "--lora_query true --lora_value true \\",
            f"  --train.global_batch_size {s.batch_size} --train.micro_batch_size {s.batch_size} "
            f"--train.max_seq_length {s.max_seq_length} \\",
            f"  --train.lr_warmup_steps {s.warmup_steps} --train.max_time {minutes * 60:.0f} "
            "--precision 32-true \\",
            f"  --optimizer '{opt}' --out_dir {out}",
            f'litgpt generate {out}/final --prompt "What is a fever?" --temperature 0',
        ]
    )


LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def llama_commands() -> str:
    """Llama 3.1 8B Instruct on one GPU: download (gated), LoRA in bf16, chat, generate, score."""
    ckpt, out = f"checkpoints/{LLAMA}", "out/medqa-llama-3.1-8b"
    return "\n".join(
        [
            "pip install 'litgpt[extra]==0.5.13'   # on the GPU machine (lm-eval for evaluate)",
            f"litgpt download {LLAMA} --access_token $HF_TOKEN",
            f"litgpt finetune_lora {ckpt} \\",
            "  --data JSON --data.json_path assets/medqa/train.json --data.val_split_fraction 0.1"
            " \\",
            "  --data.prompt_style llama3 --data.mask_prompt true \\",
            "  --precision bf16-true --lora_r 8 --lora_alpha 16 --lora_dropout 0.05 \\",
            "  --lora_query true --lora_value true \\",
            "  --train.micro_batch_size 1 --train.global_batch_size 16"
            " --train.max_seq_length 512 \\",
            f"  --train.epochs 3 --out_dir {out}",
            f"litgpt chat {out}/final",
            f'litgpt generate {out}/final --prompt "What is hypotension?" --temperature 0',
            f"litgpt evaluate {out}/final --batch_size 4 \\",
            "  --tasks mmlu_clinical_knowledge,mmlu_college_medicine,mmlu_medical_genetics"
            ",pubmedqa",
        ]
    )
