"""Code interpreter mode: the model writes Python, this session's sandboxed kernel runs it,
the result is drawn under the code and read back by the model, round after round.

Besides `sidebar()` (ask-before-running switch, kernel and file panels) it draws a "Run
your own Python" cell above the conversation, and `resumes(conv)` tells the Chat page that
an answer is waiting on the user's Run / Skip decision (kept across reruns in the session).
"""

from __future__ import annotations

import base64
import re

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components import auth, errors
from components.chat import view as chat_view
from components.i18n import t
from components.chat.modes import ModeContext, Outcome
from components.resources import runtime
from core.conversations import Conversation, Turn
from core.errors import UserError
from core.interpreter.access import interpreter_allowed, localhost_only
from core.interpreter.kernel import SandboxedKernel
from core.interpreter.loop import CodeLoop, LoopConfig, LoopState
from core.interpreter.results import ExecResult

KEY = "code"
PENDING = "interp-pending"  # {"conv": id, "state": LoopState, "decision": None | "run" | "skip"}
CELL_RESULT = "interp-cell-result"
MAX_LISTED = 30
MAX_DOWNLOAD_MB = 20


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return re.sub(r"[^A-Za-z0-9_-]", "-", ctx.session_id) if ctx is not None else "local"  # a folder name


def _kernel() -> SandboxedKernel:
    return runtime().kernels.get(_session_id())


def _config() -> LoopConfig:
    s = runtime().settings
    return LoopConfig(s.interpreter_rounds, s.interpreter_run_budget_s, s.interpreter_cell_timeout_s, s.interpreter_observation_chars)


def _watch_closed_sessions() -> None:
    """Let the pool's reaper stop the kernels of browser tabs that are gone, not only idle ones."""
    pool = runtime().kernels
    if pool.session_alive is None:
        try:
            from streamlit.runtime import Runtime

            pool.session_alive = Runtime.instance().is_active_session
        except RuntimeError:  # no server (AppTest, scripts): the idle timeout alone applies
            pass


# --- sidebar and panels ---------------------------------------------------------------------
def sidebar() -> dict:
    address = st.get_option("server.address")
    if not interpreter_allowed(auth.password_enabled(), address):
        st.sidebar.warning(t("interp.off"), icon="🔒")
        return {"enabled": False}
    _watch_closed_sessions()
    kernel = _kernel()
    ask = st.sidebar.toggle(t("interp.ask"), value=not localhost_only(address), help=t("interp.ask_help"), key="interp-ask")
    _kernel_panel(kernel)
    _files_panel(kernel)
    _own_cell(kernel)
    return {"enabled": True, "ask": ask}


def _kernel_panel(kernel: SandboxedKernel) -> None:
    s = runtime().settings
    with st.sidebar.expander(t("interp.kernel")):
        if kernel.alive:
            st.caption(t("interp.kernel_running", mechanism=kernel.sandbox_report().get("mechanism", "?")))
        else:
            st.caption(t("interp.kernel_idle"))
        st.caption(t("interp.limits", cell=s.interpreter_cell_timeout_s, budget=s.interpreter_run_budget_s, memory=s.interpreter_memory_mb))
        c1, c2 = st.columns(2)
        c1.button(t("interp.interrupt"), on_click=kernel.interrupt, key="interp-interrupt")
        if c2.button(t("interp.restart"), key="interp-restart"):
            with errors.guard():
                kernel.restart()
                st.session_state.pop(CELL_RESULT, None)
                st.success(t("interp.restarted"))


def _files_panel(kernel: SandboxedKernel) -> None:
    with st.sidebar.expander(t("interp.files")):
        uploads = st.file_uploader(t("interp.upload"), accept_multiple_files=True, key="interp-upload") or []
        saved: set = st.session_state.setdefault("interp-uploaded", set())
        new = [f for f in uploads if f.file_id not in saved]
        with errors.guard():
            for f in new:
                kernel.save_upload(f.name, f.getvalue())
                saved.add(f.file_id)
            if new:
                st.success(t("interp.uploaded", names=", ".join(f.name for f in new)))
        files = kernel.files()[:MAX_LISTED]  # regular files only: links the code planted are never offered
        if not files:
            st.caption(t("interp.no_files"))
        for f in files:
            mb = f.size / 1e6
            if mb > MAX_DOWNLOAD_MB:
                st.caption(t("interp.too_big", name=f.relative, mb=mb))
                continue
            try:  # opened without following links: the file may have been swapped for one since the listing
                data = kernel.read_file(f.relative, max_bytes=MAX_DOWNLOAD_MB * 1_000_000)
            except (UserError, OSError):
                continue
            st.download_button(f"⬇ {f.relative}", data=data, file_name=f.name, key=f"interp-dl-{f.relative}")


def _own_cell(kernel: SandboxedKernel) -> None:
    with st.expander(t("interp.cell")):
        code = st.text_area(t("interp.cell_code"), key="interp-cell-code", height=140)
        if st.button(t("interp.run_cell"), key="interp-run-cell") and code.strip():
            with errors.guard():
                st.session_state[CELL_RESULT] = _execute(lambda progress: kernel.execute(code, on_progress=progress)).to_dict()
        if CELL_RESULT in st.session_state:
            render_result(st.session_state[CELL_RESULT])


def _execute(run) -> ExecResult:
    """Run code with a live "running… N s" line (also the point where a click can stop the page)."""
    slot = st.empty()
    shown = [-1]

    def progress(elapsed: float, partial: ExecResult) -> None:
        if int(elapsed) != shown[0]:
            shown[0] = int(elapsed)
            slot.caption(t("interp.running", seconds=elapsed))

    try:
        return run(progress)
    finally:
        slot.empty()


# --- answering ----------------------------------------------------------------------------
def resumes(conv: Conversation) -> bool:
    """True when this conversation's last answer waits for Run / Skip (the page then calls answer)."""
    return _pending_state(conv) is not None


def _pending_state(conv: Conversation) -> LoopState | None:
    pending = st.session_state.get(PENDING)
    if pending and pending["conv"] == conv.id and conv.turns and conv.turns[-1].meta.get("awaiting"):
        return pending["state"]
    return None


def _decide(decision: str) -> None:
    st.session_state[PENDING]["decision"] = decision


def answer(ctx: ModeContext) -> Outcome:
    if not ctx.settings.get("enabled"):
        raise UserError(t("interp.off"))
    kernel = _kernel()
    loop = CodeLoop(ctx.engine, kernel, _config(), speak=ctx.pool.stream)
    state = _pending_state(ctx.conv)
    if state is None:
        st.session_state.pop(PENDING, None)
        state = loop.begin(ctx.conv.messages())
    else:
        decision = st.session_state[PENDING]["decision"]
        if decision is None:
            st.info(t("interp.approve"), icon="🐍")
            c1, c2, _ = st.columns([1, 1, 4])
            c1.button(t("interp.run"), on_click=_decide, args=("run",), key="interp-approve", type="primary")
            c2.button(t("interp.skip"), on_click=_decide, args=("skip",), key="interp-skip")
            return Outcome.WAITING_FOR_USER  # nothing else to do until the user decides
        st.session_state.pop(PENDING)
        awaiting = ctx.conv.turns[-1]
        awaiting.meta.pop("awaiting", None)
        if decision == "skip":
            loop.skip(state)
            awaiting.meta["interp"] = {"skipped": True}
            ctx.store.save(ctx.conv)
            return Outcome.ANSWERED
    _drive(loop, state, ctx, kernel)
    return Outcome.ANSWERED


def _drive(loop: CodeLoop, state: LoopState, ctx: ModeContext, kernel: SandboxedKernel) -> None:
    st.button(t("chat.stop"), key="interp-stop", on_click=kernel.interrupt)  # a click also reruns, closing the stream
    while not state.finished:
        if state.pending_code is None:
            st.write_stream(loop.stream(state, ctx.options, ctx.adapter, on_generation=chat_view.wait_for_turn))
            step = state.steps[-1]
            if step.text.strip():
                ctx.conv.turns.append(Turn("assistant", step.text, variant=ctx.adapter or "base"))
                ctx.store.save(ctx.conv)
            if state.pending_code is None:
                break
            if ctx.settings.get("ask", True):
                ctx.conv.turns[-1].meta["awaiting"] = True
                ctx.store.save(ctx.conv)
                st.session_state[PENDING] = {"conv": ctx.conv.id, "state": state, "decision": None}
                return  # the page reruns; `resumes` brings us back with Run / Skip
        result = _execute(lambda progress: loop.execute(state, on_progress=progress)).to_dict()
        render_result(result)
        ctx.conv.turns.append(Turn("observation", state.steps[-1].observation, meta={"code_result": result}))
        ctx.store.save(ctx.conv)
    if state.finished in ("rounds", "budget") and ctx.conv.turns:
        ctx.conv.turns[-1].meta["interp"] = {"finished": state.finished, "rounds": loop.config.max_rounds}
        ctx.store.save(ctx.conv)


# --- drawing results -------------------------------------------------------------------------
def render_observation(turn: Turn) -> None:
    """A saved code result (an `observation` turn) in the history."""
    with st.chat_message("assistant", avatar="🐍"):
        render_result(turn.meta.get("code_result") or {"outputs": [{"type": "text", "text": turn.content}], "status": "ok", "seconds": 0.0})
        render_code_meta(turn.meta)


def render_code_meta(meta: dict) -> None:
    info = meta.get("interp") or {}
    if info.get("skipped"):
        st.caption("⏭️ " + t("interp.skipped"))
    if info.get("finished"):
        st.caption("⚠️ " + t(f"interp.finished.{info['finished']}", n=info.get("rounds", "")))


def render_result(result: dict) -> None:
    status = result.get("status", "ok")
    for out in result.get("outputs", []):
        kind = out["type"]
        if kind == "stream":
            if out["name"] == "stderr":
                st.caption(t("interp.stderr"))
            st.code(out["text"], language=None)
        elif kind == "text":
            st.code(out["text"], language=None)
        elif kind == "markdown":
            st.markdown(out["text"])
        elif kind == "table":
            frame = pd.DataFrame(out["data"], columns=out["columns"], index=out["index"])
            st.dataframe(frame)
            if out["shape"][0] > len(out["data"]):
                st.caption(t("interp.table_rows", shown=len(out["data"]), rows=out["shape"][0], cols=out["shape"][1]))
        elif kind == "image":
            st.image(base64.b64decode(out["png"]))
        elif kind == "error":
            st.error(f"{out['ename']}: {out['evalue']}", icon="❌")
            if out["traceback"]:
                with st.expander(t("interp.traceback")):
                    st.code(out["traceback"], language=None)
        elif kind == "note":
            st.warning(t(f"interp.note.{out['key']}", **out.get("args", {})), icon="⚠️")
    st.caption(t(f"interp.status.{status}", seconds=result.get("seconds", 0.0)))
