"""Knowledge distillation: soft targets with a temperature, the loss, and a student distilled from
Project 1's MiniLM on unlabelled reviews next to the same student trained without it."""

from __future__ import annotations

import streamlit as st

from figures import distillation as fig
from lessons import distill as kd
from models import distill as md
from ui.page import header, lazy_tabs, page_keys, presenter
from ui.widgets import show_code
from views.distillation import students

k = page_keys("kd")
FIXED_T = (1.0, 2.0, 5.0, 10.0)

controls = header(
    "Knowledge distillation",
    "A big **teacher** knows more than its top answer: a picture of a cat gets *dog* 0.07 and "
    "*truck* 0.00001. Those small probabilities (Hinton's **dark knowledge**) say which mistakes "
    "are reasonable. A small **student** trained on the teacher's whole distribution learns that "
    "similarity structure, which one-hot labels never show, and it can learn it on text nobody "
    "labelled.\n\n"
    "At the ordinary softmax the small probabilities are too small to matter, so both are "
    "softened with a **temperature**: softmax(logits / T). T = 1 is the usual softmax; a larger "
    "T flattens it (higher entropy) and keeps the order of the classes. The student's loss mixes "
    "the cross-entropy on the labels with the KL divergence to the softened teacher; the soft "
    "term's gradient shrinks like 1/T², so it is multiplied by **T²**.",
)
with controls:
    st.latex(
        r"\mathcal{L} = \alpha\,\mathrm{CE}(y, s) + (1-\alpha)\,T^2\,"
        r"\mathrm{KL}\big(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T)\big)"
    )
    left, right = st.columns(2) if presenter() else (st, st)  # one row on a projector
    T = left.slider("Temperature T", 1.0, 20.0, 4.0, step=0.5, key=k("T"))
    alpha = right.slider("α (weight of the hard-label term)", 0.0, 1.0, 0.5, step=0.05,
                         key=k("alpha"), help="α = 1: plain cross-entropy, no distillation. "
                         "α = 0: soft targets only.")  # fmt: skip
    parts = kd.ten_class_example(alpha, T)
    st.markdown(f"**The loss on the 10-class example** (true class *{kd.TEN_CLASSES[0]}*)")
    c1, c2, c3 = st.columns(3)
    c1.metric("α · CE", f"{parts.hard_term:.3f}", help=f"CE = {parts.hard.item():.3f}")
    c2.metric("(1−α) · T² · KL", f"{parts.soft_term:.3f}",
              help=f"KL = {parts.kl.item():.4f}, T² = {T * T:g}")  # fmt: skip
    c3.metric("Total", f"{parts.total.item():.3f}")
    st.caption(
        f"CE(y, s) = {parts.hard.item():.3f} · KL at T = {T:g}: {parts.kl.item():.4f} · "
        f"T² · KL = {T * T * parts.kl.item():.3f}. The student confuses cat with dog: raise T and "
        "watch how much of the loss the soft term carries."
    )

soft_tab, student_tab = lazy_tabs(
    ["Soft targets at several temperatures", "Distil a review classifier"], k("tabs")
)
if soft_tab.open:
    with soft_tab:
        temps = sorted(set(FIXED_T) | {T})
        panels = kd.ten_class_softened(temps)
        st.plotly_chart(fig.softened(kd.TEN_CLASSES, panels, "Teacher, 10-class example"),
                        key=k("ten"))  # fmt: skip
        series = {f"{name}, T = {T:g}": p for name, p in kd.ten_class_targets(T).items()}
        st.plotly_chart(fig.pair(kd.TEN_CLASSES, series, "What the KL term compares (at the "
                                 "slider's T)"), key=k("pair"))  # fmt: skip
if student_tab.open:
    with student_tab:
        students.render()

show_code(kd.soft_targets, kd.distillation_loss, kd.transfer_set, kd.train_student, md.distill_pair)
