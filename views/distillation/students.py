"""Tab: distil Project 1's MiniLM into a 1-layer student on unlabelled reviews, next to the same
student trained on the labels alone. Opens on the 5 seeds `make prepare` ran; trains live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import distillation as fig
from lessons import distill as kd
from models import distill as md
from models import prepared
from models import sentiment_model as sm
from models.sentiment_data import read_rows
from ui import training
from ui.models import get_model
from ui.page import lesson, on_handle, page_keys, presenter
from ui.widgets import empty_hint, guarded_text

k = page_keys("kd")
SOURCES = ("Prepared teacher", "Fine-tune MiniLM now", "Load a model folder")
FIXED_T = (1.0, 2.0, 5.0, 10.0)
PCT = ("familiar wording (val)", "new wording (test)", "agrees with teacher (test)")


@st.cache_resource(show_spinner="Reading the prepared teacher's logits…", max_entries=2)
def prepared_teacher(created: str) -> md.Teacher | None:
    return md.load_teacher()  # read-only once loaded: students only index its tensors


@on_handle(max_entries=64)
def prepared_logits(handle, text: str) -> list[float]:
    return md.logits_on(handle.model, handle.tokenizer, text).tolist()


def table(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    frame["parameters"] = frame["parameters"].map("{:,}".format)
    config = {c: st.column_config.NumberColumn(format="percent") for c in PCT if c in frame}
    st.dataframe(frame, hide_index=True, column_config=config)


def prepared_results() -> None:
    if not training.prepared_note(md.STATE):
        return
    res = md.results()
    if not res:
        return
    summ, per_seed = res["summary"], res["per_seed"]
    cols = st.columns(len(md.RUNS) + 1)
    cols[0].metric("Teacher: new wording", f"{summ['teacher_test_acc']:.1%}")
    for col, run in zip(cols[1:], md.RUNS, strict=True):
        key = run.replace(" ", "_")
        col.metric(f"{run}: new wording", f"{summ[key + '_test_mean']:.1%}",
                   f"{summ[key + '_test_min']:.0%} to {summ[key + '_test_max']:.0%}, "
                   f"{summ['seeds']} seeds", delta_color="off", delta_arrow="off")  # fmt: skip
    left, right = st.columns(2)
    height = 230 if presenter() else 300
    left.plotly_chart(fig.seed_results(per_seed, summ["teacher_test_acc"], height),
                      key=k("seeds"))  # fmt: skip
    if res.get("sweep"):
        sweep = fig.sweep(res["sweep"], summ["teacher_test_acc"], summ["control_test_mean"], height)
        right.plotly_chart(sweep, key=k("sweep"))
    if not presenter():
        st.plotly_chart(fig.student_curves(per_seed[0]["history"]), key=k("prep_curves"))
    if not presenter():
        table(per_seed[0]["table"])
    cfg = res["config"]
    runs = "; ".join(f"**{r}**: {d}" for r, d in md.RUNS.items())
    st.caption(
        f"Table: seed {per_seed[0]['seed']}. {runs}. {cfg['unlabelled']:,} unlabelled reviews, "
        f"{cfg['steps']:,} steps each, T = {cfg['temperature']:g}, α = {cfg['alpha']:g}."
    )


def choose_teacher() -> md.Teacher | None:
    source = st.radio("Teacher", SOURCES, horizontal=True, key=k("source"))
    if source == SOURCES[0]:
        rec = prepared.record(md.STATE)
        return prepared_teacher(rec.created) if rec else None
    if source == SOURCES[1]:
        budget = st.slider("Teacher budget (seconds)", 30, 300, 120, step=10, key=k("t_budget"))

        def work(rep):
            return md.teacher_live(read_rows(md.SAMPLE), md.read_unlabelled(), budget - 5, rep)

        button = "Fine-tune the teacher"
    else:
        path = guarded_text("Model folder", "", key=k("dir"), area=False, max_chars=500,
                            help="written by `python -m models.sentiment train`")  # fmt: skip
        if path.empty:
            empty_hint("the path of a model folder")
            return st.session_state.get(k("teacher"))
        try:
            folder = sm.user_model_dir(path.text.strip())
        except sm.ModelDirError as exc:
            st.warning(str(exc), icon=":material/folder_off:")
            return None

        def work(rep):
            return md.teacher_from_folder(folder, read_rows(md.SAMPLE), md.read_unlabelled())

        button = "Load the teacher"
    done = training.training_panel(k("teacher_run"), work=work, budget_s=330, button=button,
                                   idle_text=None)  # fmt: skip
    if isinstance(done, md.Teacher):
        st.session_state[k("teacher")] = done  # per user, never a shared cache
    return st.session_state.get(k("teacher"))


def teacher_sentence(teacher: md.Teacher) -> None:
    text = guarded_text("A sentence for the teacher", "the acting is wooden, but the ending is "
                        "wonderful", key=k("sentence"), area=False, max_chars=500)  # fmt: skip
    if text.empty:
        empty_hint("a review sentence")
        return
    if teacher.model is not None:
        logits = md.logits_on(teacher.model, teacher.tokenizer, text.text).tolist()
    else:
        handle = get_model("sentiment", "sentiment-minilm-prepared", optional=True)
        if handle is None:
            return
        logits = prepared_logits(handle, text.text)
    panels = kd.softened_logits(logits, FIXED_T)
    st.plotly_chart(fig.softened(sm.LABELS, panels, "Teacher on your sentence"), key=k("bars"))
    st.caption(
        f"Teacher logits: {logits[0]:.2f} (negative), {logits[1]:.2f} (positive). With two "
        "classes there is little dark knowledge, only *how sure*: a higher T mainly tells the "
        "student which reviews are borderline."
    )


def live(teacher: md.Teacher) -> None:
    c1, c2, c3 = st.columns(3)
    most = len(teacher.data["unlabelled"])
    default = min(kd.DistillConfig.unlabelled, most)
    n_unl = c1.slider("Unlabelled reviews", 0, most, default, step=50, key=k("n_unl"),
                      help="0: the teacher's soft labels on the labelled rows only")  # fmt: skip
    steps = c2.slider("Steps (each student)", 50, 1_000, 400, step=50, key=k("steps"))
    size = c3.select_slider("Student", ["tiny", "small"], "tiny", key=k("size"),
                            help="tiny: 1 layer × 64 wide · small: 2 × 128")  # fmt: skip
    # On a projector the second row of knobs folds away (their defaults are the lesson's).
    more = st.expander("More settings", icon=":material/tune:") if presenter() else st.container()
    c4, c5, c6 = more.columns(3)
    temp = c4.slider("Training temperature T", 1.0, 10.0, 4.0, step=0.5, key=k("train_T"))
    alpha = c5.slider("Training α", 0.0, 1.0, 0.3, step=0.05, key=k("train_alpha"))
    seed = c6.number_input("Seed", 0, 1_000, 0, key=k("seed"))
    cfg = kd.DistillConfig(alpha=alpha, temperature=temp, steps=steps, unlabelled=n_unl,
                           eval_every=max(10, steps // 10), seed=int(seed))  # fmt: skip
    pair = training.training_panel(
        k("students"),
        work=lambda rep: md.distill_pair(teacher, size, cfg, rep),
        # A fixed number of steps must fit: a busy CPU took ~0.3 s per tiny step with the evals.
        budget_s=60 + 0.6 * steps,
        button="Distil",
        idle_text="Set the student's training, then press Distil (the distilled student, then the "
        "control).",
        curves=fig.student_curves,
        caption=fig.students_caption,
    )
    if isinstance(pair, md.PairResult):
        table(pair.table)
        gap = pair.test_acc("distilled") - pair.test_acc("control")
        n = len(teacher.data["test"])
        st.caption(f"Distilled minus control on the {n:,} held-out reviews: {gap:+.0%} "
                   f"(one review is {1 / max(n, 1):.0%}).")  # fmt: skip


def render() -> None:
    lesson(
        "**The setup.** The teacher is Project 1's MiniLM fine-tune (prepared by `make prepare`). "
        "The students are Project 1's from-scratch transformer at its smallest (1 layer, 64 "
        "wide), with the same seed: the same initial weights, dropout masks and number of steps. "
        "The **control** learns from the 160 labelled reviews alone. The **distilled** student "
        "learns from the teacher's soft labels on those reviews *and on unlabelled reviews*: "
        "text nobody labelled, which only the teacher can teach from. Both are measured on 100 "
        "held-out reviews worded with words the labelled reviews never use. The student sees "
        f"{kd.DistillConfig.unlabelled:,} unlabelled reviews by default; the sweep shows what "
        "more text buys: the student closes in on its teacher."
    )
    prepared_results()
    st.subheader("Distil live")
    teacher = choose_teacher()
    if teacher is None:
        st.info("Choose or prepare a teacher to distil from it.", icon=":material/school:")
        return
    st.success(f"Teacher: {teacher.source} · {teacher.params:,} parameters · new wording "
               f"{teacher.acc('test'):.1%} · familiar wording {teacher.acc('val'):.1%}",
               icon=":material/school:")  # fmt: skip
    if not presenter():
        teacher_sentence(teacher)
    live(teacher)
