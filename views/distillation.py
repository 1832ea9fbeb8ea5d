"""Knowledge distillation: soft targets with a temperature, the loss, and a student trained live
from a fine-tuned MiniLM teacher next to the same student trained without it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from lessons import distill as kd
from models import sentiment_model as sm
from models.sentiment_data import Row, encode, read_rows
from ui import jobs as ui_jobs
from ui.widgets import empty_hint, guarded_text, show_code

TEACHER_JOB = "distill_teacher"
STUDENT_JOB = "distill_students"
TEACHER_KEY = "distill::teacher"
PAIR_KEY = "distill::pair"
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
FIXED_T = (1.0, 2.0, 5.0, 10.0)
SOURCES = ("Fine-tune MiniLM now", "Load a model folder")


@st.cache_data(show_spinner=False)
def sample_rows() -> list:
    return read_rows(SAMPLE)


def softened_bars(classes: list[str], logits: torch.Tensor, temps: list[float], title: str):
    """One bar panel per temperature: the same logits, softened."""
    fig = make_subplots(rows=1, cols=len(temps), subplot_titles=[f"T = {t:g}" for t in temps])
    for i, t in enumerate(temps, start=1):
        p = kd.soft_targets(logits, t)  # (C,)
        h = kd.entropy(p).item()
        fig.add_trace(
            go.Bar(x=classes, y=p.tolist(), marker_color="#2563eb", showlegend=False),
            row=1,
            col=i,
        )
        fig.layout.annotations[i - 1].text = f"T = {t:g} · entropy {h:.2f} nats"
    fig.update_yaxes(range=[0, 1], title_text="probability", row=1, col=1)
    fig.update_xaxes(title_text="class")
    fig.update_layout(height=300, title=title, margin=dict(t=70, b=10, l=10, r=10))
    return fig


st.title("Knowledge distillation")
lesson, controls = st.columns([3, 2], gap="large")
with lesson:
    st.markdown(
        "A big **teacher** knows more than its top answer: a picture of a cat gets "
        "*dog* 0.07 and *truck* 0.00001. Those small probabilities (Hinton's **dark knowledge**) "
        "say which mistakes are reasonable. A small **student** trained on the teacher's whole "
        "distribution learns that similarity structure, which one-hot labels never show.\n\n"
        "At the ordinary softmax the small probabilities are too small to matter, so both are "
        "softened with a **temperature**: softmax(logits / T). T = 1 is the usual "
        "softmax; a larger T flattens it (higher entropy) and keeps the order of the classes.\n\n"
        "The student's loss mixes the usual cross-entropy on the labels with the KL divergence "
        "to the softened teacher. The gradient of the soft term shrinks like 1/T², so it is "
        "multiplied by **T²** to keep its weight independent of T."
    )
    st.latex(
        r"\mathcal{L} = \alpha\,\mathrm{CE}(y, s) + (1-\alpha)\,T^2\,"
        r"\mathrm{KL}\big(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T)\big)"
    )
with controls:
    T = st.slider("Temperature T", 1.0, 20.0, 4.0, step=0.5, key="kd_T")
    alpha = st.slider(
        "α (weight of the hard-label term)",
        0.0,
        1.0,
        0.5,
        step=0.05,
        key="kd_alpha",
        help="α = 1: plain cross-entropy, no distillation. α = 0: soft targets only.",
    )
    teacher_ex = torch.tensor(kd.TEN_TEACHER)  # (10,)
    student_ex = torch.tensor(kd.TEN_STUDENT)  # (10,)
    parts = kd.distillation_loss(
        student_ex[None], teacher_ex[None], torch.tensor([kd.TEN_LABEL]), alpha, T
    )
    st.markdown(f"**The loss on the 10-class example** (true class *{kd.TEN_CLASSES[0]}*)")
    c1, c2, c3 = st.columns(3)
    c1.metric("α · CE", f"{parts.hard_term:.3f}", help=f"CE = {parts.hard.item():.3f}")
    c2.metric(
        "(1−α) · T² · KL",
        f"{parts.soft_term:.3f}",
        help=f"KL = {parts.kl.item():.4f}, T² = {T * T:g}",
    )
    c3.metric("Total", f"{parts.total.item():.3f}")
    st.caption(
        f"CE(y, s) = {parts.hard.item():.3f} · KL at T = {T:g}: {parts.kl.item():.4f} · "
        f"T² · KL = {T * T * parts.kl.item():.3f}. The student below confuses cat with dog: "
        "raise T and watch how much of the loss the soft term carries."
    )

st.subheader("Soft targets: the same logits at several temperatures")
temps = sorted(set(FIXED_T) | {T})
st.plotly_chart(
    softened_bars(list(kd.TEN_CLASSES), teacher_ex, temps, "Teacher, 10-class example"),
    width="stretch",
    key="kd_ten",
)
fig = go.Figure()
for name, logits, colour in (
    ("teacher", teacher_ex, "#2563eb"),
    ("student", student_ex, "#dc2626"),
):
    fig.add_trace(
        go.Bar(
            x=list(kd.TEN_CLASSES),
            y=kd.soft_targets(logits, T).tolist(),
            name=f"{name}, T = {T:g}",
            marker_color=colour,
        )
    )
fig.update_layout(
    height=280,
    barmode="group",
    title="What the KL term compares (at the slider's T)",
    xaxis_title="class",
    yaxis_title="probability",
    margin=dict(t=50, b=10, l=10, r=10),
)
st.plotly_chart(fig, width="stretch", key="kd_pair")

# --- the teacher --------------------------------------------------------------------------------

st.subheader("1 · The teacher: MiniLM fine-tuned on the sentiment sample")
rows = sample_rows()
t_left, t_right = st.columns([3, 2], gap="large")
with t_left:
    st.markdown(
        f"The teacher is Project 1's **MiniLM fine-tune** (22.7 M parameters, pre-trained), "
        f"trained here on the built-in {len(rows)} review sentences with Project 1's split "
        "(10% validation). Or load a folder you trained with\n\n"
        "`python -m models.sentiment train --arch minilm ...` (its folder holds the tokenizer "
        "and config).\n\n"
        "Its logits on the training rows are computed **once** and cached: distilling then costs "
        "only the student's steps. MiniLM starts slowly (30 warm-up steps at a small learning "
        "rate, ~20 sentences/s on two CPU cores): under two minutes it is a poor teacher. For a "
        "good one, train it on the sample from a terminal (same split, seed 0):\n\n"
        "`python -m models.sentiment train --arch minilm --data assets/sentiment/sample.jsonl "
        "--out /tmp/teacher --minutes 3`"
    )
with t_right:
    source = st.radio("Teacher", SOURCES, horizontal=True, key="kd_source")
    model_dir = None
    if source == SOURCES[0]:
        t_budget = st.slider("Teacher budget (seconds)", 30, 300, 120, step=10, key="kd_t_budget")
    else:
        t_budget = 120
        path = guarded_text(
            "Model folder", "", key="kd_dir", area=False, max_chars=500, help="config.json inside"
        )
        model_dir = path.text.strip() if not path.empty else None
        if model_dir is None:
            empty_hint("the path of a model folder")
        else:
            try:
                model_dir = str(sm.user_model_dir(model_dir))
            except sm.ModelDirError as exc:
                st.error(str(exc))
                model_dir = None
    teacher_go = st.button(
        "Prepare the teacher",
        type="primary",
        icon=":material/school:",
        disabled=source == SOURCES[1] and not model_dir,
        key="kd_teacher_go",
    )

if teacher_go:

    def teacher_work(job, rows=rows, budget=t_budget, model_dir=model_dir):
        def progress(frac: float) -> None:
            job.report(progress=frac, message="fine-tuning MiniLM")

        # Time kept back for the teacher's logits on the training rows, computed after training.
        return kd.prepare_teacher(
            rows, 0.85 * budget - 5, model_dir, job.check, lambda r: job.log(**r), progress
        )

    for stale in (TEACHER_KEY, PAIR_KEY):  # students of an old teacher would be misleading
        st.session_state.pop(stale, None)
    ui_jobs.start(TEACHER_JOB, "distill-teacher", teacher_work, budget_s=t_budget)


def draw_teacher(job) -> None:
    points = [m for m in job.snapshot() if "val_acc" in m]
    if not points:
        if not job.finished:
            st.caption("The teacher's first evaluation appears after a sixteenth of the budget.")
        return
    df = pd.DataFrame(points)
    fig = go.Figure(go.Scatter(x=df["step"], y=df["val_acc"], mode="lines+markers"))
    fig.update_layout(
        height=240,
        xaxis_title="step",
        yaxis_title="validation accuracy",
        yaxis_range=[0, 1],
        margin=dict(t=20, b=10, l=10, r=10),
    )
    st.plotly_chart(fig, width="stretch")


teacher_job = ui_jobs.current(TEACHER_JOB)
if teacher_job is not None:
    ui_jobs.live_job(TEACHER_JOB, draw_teacher)
    if teacher_job.finished and isinstance(teacher_job.result, kd.Teacher):
        st.session_state[TEACHER_KEY] = teacher_job.result  # per user, never a shared cache

teacher: kd.Teacher | None = st.session_state.get(TEACHER_KEY)
if teacher is not None:
    st.success(
        f"Teacher ready: {teacher.source} · validation accuracy {teacher.val_acc:.1%} on "
        f"{len(teacher.val)} rows · logits cached for {len(teacher.train)} training rows.",
        icon=":material/school:",
    )
    if teacher.val_acc < 0.75:
        st.warning(
            f"This teacher gets {teacher.val_acc:.0%} of the validation sentences right: its soft "
            "targets carry little knowledge, and a student may then beat it. What the student "
            "gains from such a teacher is closer to label smoothing than to distillation. Give "
            "it a longer budget, or load a folder trained from the terminal.",
            icon=":material/warning:",
        )
    sentence = guarded_text(
        "A sentence for the teacher",
        "the acting is wooden, but the ending is wonderful",
        key="kd_sentence",
        area=False,
        max_chars=500,
    )
    if sentence.empty:
        empty_hint("a review sentence")
    else:
        # Label 0 is a placeholder: only the teacher's logits are read.
        one = encode(teacher.tokenizer, [Row(sentence.text, 0)], teacher.max_len)
        logits = kd.teacher_logits(teacher.model, one)[0]  # (2,)
        st.plotly_chart(
            softened_bars(list(sm.LABELS), logits, list(FIXED_T), "Teacher on your sentence"),
            width="stretch",
            key="kd_sentence_bars",
        )
        st.caption(
            f"Teacher logits: {logits[0]:.2f} (negative), {logits[1]:.2f} (positive). With two "
            "classes there is little dark knowledge, only *how sure*: a higher T mainly tells "
            "the student which reviews are borderline."
        )
else:
    st.info("Prepare a teacher to distill from it.", icon=":material/school:")

# --- the students -------------------------------------------------------------------------------

st.subheader("2 · Students: distilled vs. control")
s_left, s_right = st.columns([3, 2], gap="large")
with s_left:
    st.markdown(
        "Two copies of Project 1's **from-scratch** transformer with the same seed: the same "
        "initial weights, the same batches in the same order, the same dropout masks and the "
        "same number of steps. The **distilled** one is trained with the loss above; the "
        "**control** with plain cross-entropy on the labels. Whatever differs between their "
        "curves comes from the teacher's soft targets."
    )
with s_right:
    size = st.select_slider(
        "Student size",
        options=["tiny", "small"],
        value="tiny",
        help="tiny: 1 layer × 64 wide · small: 2 × 128",
        key="kd_size",
    )
    steps = st.slider("Steps (each student)", 20, 600, 200, step=20, key="kd_steps")
    train_T = st.slider("Training temperature T", 1.0, 10.0, 4.0, step=0.5, key="kd_train_T")
    train_alpha = st.slider("Training α", 0.0, 1.0, 0.3, step=0.05, key="kd_train_alpha")
    students_go = st.button(
        "Distill",
        type="primary",
        icon=":material/play_arrow:",
        disabled=teacher is None,
        key="kd_students_go",
    )

if students_go and teacher is not None:
    cfg = kd.DistillConfig(
        alpha=train_alpha, temperature=train_T, steps=steps, eval_every=max(5, steps // 15)
    )

    def students_work(job, teacher=teacher, size=size, cfg=cfg):
        def log(row: dict) -> None:
            job.log(**row)
            done = row["step"] + (cfg.steps if row["run"] == "control" else 0)
            job.report(progress=done / (2 * cfg.steps), message=f"training the {row['run']}")

        return kd.distill_with_control(teacher, size, cfg, job.check, log)

    st.session_state.pop(PAIR_KEY, None)
    # Generous (a fixed number of steps must fit): a busy CPU was measured at ~0.35 s per tiny
    # step including evaluations, both students, plus the final latency measurements.
    ui_jobs.start(STUDENT_JOB, "distill-students", students_work, budget_s=90 + steps * 1.0)


def draw_students(job) -> None:
    points = [m for m in job.snapshot() if "val_acc" in m]
    if not points:
        st.caption("The first evaluation appears after a fifteenth of the steps.")
        return
    df = pd.DataFrame(points)
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("validation accuracy", "validation loss (plain CE)")
    )
    for run, colour in (("distilled", "#2563eb"), ("control", "#9ca3af")):
        part = df[df["run"] == run]
        for col, what in ((1, "val_acc"), (2, "val_loss")):
            fig.add_trace(
                go.Scatter(
                    x=part["step"],
                    y=part[what],
                    name=run,
                    legendgroup=run,
                    showlegend=col == 1,
                    line=dict(color=colour),
                    mode="lines+markers",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="accuracy", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="loss", row=1, col=2)
    fig.update_layout(height=320, margin=dict(t=40, b=10, l=10, r=10))
    st.plotly_chart(fig, width="stretch")
    st.caption(
        "The control runs after the distilled student, on the same slot. Validation loss is "
        "plain cross-entropy for both, so the two are comparable."
    )


student_job = ui_jobs.current(STUDENT_JOB)
if student_job is None:
    st.info("Prepare a teacher, pick the student's settings, then press Distill.")
else:
    ui_jobs.live_job(STUDENT_JOB, draw_students)
    if student_job.finished and isinstance(student_job.result, kd.PairResult):
        st.session_state[PAIR_KEY] = student_job.result

pair: kd.PairResult | None = st.session_state.get(PAIR_KEY)
if pair is not None:
    st.subheader("Teacher, distilled student, control")
    table = pd.DataFrame(pair.table)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "parameters": st.column_config.NumberColumn(format="%d"),
            "val accuracy": st.column_config.NumberColumn(format="percent"),
            "agrees with teacher (val)": st.column_config.NumberColumn(format="percent"),
        },
    )
    n_val = len(teacher.val) if teacher is not None else 0
    acc = {r["model"]: r["val accuracy"] for r in pair.table}
    gap = acc.get("distilled student", 0) - acc.get("control", 0)
    st.caption(
        f"Distilled minus control: {gap:+.1%} on {n_val} validation sentences, where one "
        f"sentence is {1 / max(n_val, 1):.1%}. On a sample this small the difference is within "
        "noise: change the steps, T or α and it moves by several points. "
        "Distillation pays off with a strong teacher and many unlabelled or hard examples; "
        "the latency column is what the student buys either way."
    )

show_code(kd.soft_targets, kd.distillation_loss, kd.teacher_logits, kd.train_student)
