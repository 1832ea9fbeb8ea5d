"""Tab 5: the same recipe as an AutoTrain Advanced project, to run elsewhere."""

from __future__ import annotations

import io
import zipfile

import streamlit as st

from models import ner
from views.t5_ner.common import k, sample, sample_cfg


@st.cache_data(show_spinner=False)
def project_zip() -> tuple[bytes, str]:
    files = ner.autotrain_project(sample(), sample_cfg("t5"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(f"t5-ner/{name}", text)
    return buf.getvalue(), files["config.yml"]


def render() -> None:
    st.markdown(
        "**AutoTrain Advanced** fine-tunes Hub models from a YAML project file. It pins its own "
        "transformers (4.48), so it cannot share this app's environment: the gallery trains the "
        "recipe itself with `Seq2SeqTrainer`, and writes the AutoTrain project for you to run in "
        "a separate one. The project fine-tunes **t5-small** (AutoTrain starts from a Hub "
        "checkpoint) on the sample's `text` → `target` pairs, in the sparse notation, with a "
        "`ner: ` prefix."
    )
    data, config = project_zip()
    st.download_button("Download the AutoTrain project (zip)", data, "t5-ner-autotrain.zip",
                       "application/zip", icon=":material/download:", key=k("zip"))  # fmt: skip
    st.code(config, language="yaml")
    st.markdown("The same files from the command line, for any CoNLL file:")
    st.code(
        "python -m models.ner autotrain --data assets/ner/sample.conll --out /tmp/t5-ner\n"
        "cd /tmp/t5-ner && python -m venv .autotrain && .autotrain/bin/pip install "
        "autotrain-advanced\n.autotrain/bin/autotrain --config config.yml",
        language="bash",
    )
