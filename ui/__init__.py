"""Streamlit helpers shared by pages: cached model handles, the sidebar, guarded inputs, escaped
token rendering, "show the code". Pages import these; lessons and models never import Streamlit."""
