"""Transformer & LLM curriculum gallery: a thin router.

Network detection and heavy imports happen once, here, before any page runs.
"""

from models import network

network.detect()  # sets HF_HUB_OFFLINE before transformers is imported, when offline

from models import runtime  # noqa: E402

runtime.warm_imports()
run_started, run_t0 = runtime.run_clock()

import streamlit as st  # noqa: E402

from lessons.course import SECTIONS, built_topics  # noqa: E402
from ui import sidebar  # noqa: E402

st.set_page_config(
    page_title="Transformer & LLM gallery", page_icon="assets/favicon.png", layout="wide"
)

nav: dict[str, list] = {
    "Start": [
        st.Page("views/home.py", title="Course map", icon=":material/map:", default=True),
        st.Page("views/preflight.py", title="Talk preflight", icon=":material/fact_check:"),
    ]
}
for section in SECTIONS:
    pages = [
        st.Page(t.page, title=t.title, icon=t.icon) for t in built_topics() if t.section == section
    ]
    if pages:
        nav[section] = pages

page = st.navigation(nav, expanded=True)  # the whole course, not "View 3 more"
sidebar.render()
try:
    page.run()
finally:  # the server's own share of this run, when GALLERY_RUN_LOG asks for it (preflight)
    runtime.log_run(page.url_path or "home", run_started, runtime.run_clock()[1] - run_t0)
runtime.settle_heap()  # after a run that imported new modules: see models/runtime.py
