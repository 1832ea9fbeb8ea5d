"""Talk preflight: is everything a talk needs loaded, prepared, warm and answering?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models import preflight_checks as checks
from ui.models import warm_all
from ui.page import header, page_keys

k = page_keys("preflight")

controls = header(
    "Talk preflight",
    "Before a talk, run `make preflight` in a terminal: it loads every model, trains the missing "
    "prepared states, checks the network, the fast chat engine and an Ollama server (when "
    "`OLLAMA_HOST` is set), opens every page once in a headless browser so this server's caches "
    "are warm, times each page's first open by a new session against the warm opens after it, "
    "and keeps serving the warmed app. Its last report is below. The button re-checks "
    "from inside this server and loads every model into its cache.",
)
with controls:
    check_now = st.button("Check now", type="primary", icon=":material/fact_check:", key=k("go"))

if check_now:
    rows = []
    for name, fn in (
        ("network", checks.network_check),
        ("fast engine", checks.fast_engine),
        ("ollama", checks.ollama_check),
    ):
        try:
            ok, detail = fn()
        except Exception as exc:  # a failing check is a red line, never a trace
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        rows.append({"check": name, "ok": ok, "seconds": None, "detail": detail})
    for label, seconds, error in warm_all():
        detail = error or "loaded in this server"
        rows.append(
            {"check": f"model: {label}", "ok": error is None, "seconds": round(seconds, 1),
             "detail": detail}
        )  # fmt: skip
    st.session_state[k("now")] = rows

now = st.session_state.get(k("now"))
if now:
    st.subheader("This server, now")
    st.dataframe(pd.DataFrame(now), hide_index=True, width="stretch",
                 column_config={"ok": st.column_config.CheckboxColumn("green")})  # fmt: skip

report = checks.load_report()
st.subheader("Last `make preflight`")
if report is None:
    st.info(
        "No preflight has run on this machine yet: run `make preflight`.", icon=":material/info:"
    )
else:
    verdict = "all green" if report["all_ok"] else "some lines are red"
    st.caption(f"Finished {report['finished']} in {report['total_s']:,.0f} s: {verdict}.")
    st.dataframe(pd.DataFrame(report["lines"]), hide_index=True, width="stretch",
                 column_config={"ok": st.column_config.CheckboxColumn("green")})  # fmt: skip
    audience = report.get("audience_open_s") or {}
    if audience:
        if report.get("warm_open_s"):
            st.caption(
                "Each page's first open by a new browser session, then "
                f"{report.get('warm_opens', 2)} more opens of it by new sessions on the same "
                "server: the warm render"
                + (", each timed by the browser's clock to the last element it added"
                   if report.get("render_clock") else "")
                + ". Within: no slower than the slowest warm open or "
                f"{report.get('open_slack', checks.FIRST_OPEN_SLACK)}x their median (one open's "
                "spread on this host). The server's share is "
                + ("its own logged script time" if report.get("server_logged") else
                   "the browser's view of it (the server was not started by the preflight)")
                + "; server warm: the first open cost it at most "
                f"{checks.SERVER_SLACK_S} s more than the slowest warm open."
            )  # fmt: skip
        columns = {
            "within": st.column_config.CheckboxColumn("within warm"),
            "server warm": st.column_config.CheckboxColumn("server warm"),
        }
        st.dataframe(checks.first_open_table(report), hide_index=True, width="stretch",
                     column_config=columns)  # fmt: skip
