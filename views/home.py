"""Home: the course map, what each built page does, and the five use cases."""

import streamlit as st

from lessons.course import COURSE, SECTIONS, USE_CASES

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
for section in SECTIONS:
    topics = [t for t in COURSE if t.section == section]
    st.markdown(f"#### {section}")
    for topic in topics:
        if topic.page:
            st.page_link(topic.page, label=f"{topic.title} — {topic.blurb}", icon=topic.icon)
        else:
            st.markdown(f"&nbsp;&nbsp;:gray[{topic.title} — {topic.blurb} *(coming)*]")
