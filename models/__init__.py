"""Model backends: a registry of roles -> choices (embedded | Hub), loading, locks.

Plain Python: importable and testable without Streamlit. The page layer wraps `load` in
`st.cache_resource`; command lines and tests call it directly.
"""
