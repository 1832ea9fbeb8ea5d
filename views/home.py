"""Home: the course map, what each built page does, and the five use cases."""

import streamlit as st

from lessons.course import COURSE, SECTIONS, USE_CASES
from ui.page import presenter

st.title("Transformers & LLMs, live")
st.markdown(
    "A 25-step course from tokenization to DeepSeek and GRPO. Every page runs **real models** "
    "on this machine: embedded ones that work with no network (MiniLM-L6, SmolLM2-135M-Instruct) "
    "and Hub models when the network is there. Pick models in the sidebar."
)

st.subheader("What transformers are used for")
cols = st.columns(len(USE_CASES))
for col, (name, what) in zip(cols, USE_CASES, strict=True):
    col.markdown(f"**{name}**  \n{what}")

st.subheader("Course map")
stage = presenter()  # a projector: the sections side by side, titles only
columns = st.columns(len(SECTIONS)) if stage else [st.container() for _ in SECTIONS]
for section, col in zip(SECTIONS, columns, strict=True):
    topics = [t for t in COURSE if t.section == section]
    col.markdown(f"#### {section}")
    for topic in topics:
        label = topic.title if stage else f"{topic.title} — {topic.blurb}"
        if topic.page:
            col.page_link(topic.page, label=label, icon=topic.icon)
        else:
            col.markdown(f"&nbsp;&nbsp;:gray[{label} *(coming)*]")
