"""The Gradio page: a thin layer over qa.library. Handlers are plain functions, tested directly."""

from __future__ import annotations

import html
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from qa.cite import citation_text, highlighted_html, hit_to_json, hit_to_markdown
from qa.library import QA, SearchResult
from qa.search import Hit
from qa.settings import SEARCH_MODES, Settings

EXAMPLES = [
    "When did the third ARF workshop on space security open?",
    "Why is amending the Outer Space Treaty not a workable solution?",
    "Which countries joined China in submitting working paper CD/1679?",
]

CSS = """
.qa-hit {border: 1px solid #ddd; border-radius: 8px; padding: 10px 12px; margin: 8px 0;}
.qa-head {display: flex; flex-wrap: wrap; gap: 8px; align-items: center; font-size: 0.9em;}
.qa-rank {font-weight: bold;}
.qa-bar {display: inline-block; width: 80px; height: 8px; background: #eee; border-radius: 4px;}
.qa-bar > span {display: block; height: 8px; background: #4a7dd8; border-radius: 4px;}
.qa-text {margin-top: 6px; line-height: 1.45;}
.qa-text mark, .qa-doc mark {background: #ffe58a;}
.qa-notice {padding: 8px 12px; background: #fff6d6; border-radius: 6px; margin: 6px 0;}
.qa-doc p {margin: 0 0 0.8em 0;}
.qa-doc .qa-target {background: #eef4ff; outline: 2px solid #4a7dd8; border-radius: 4px;}
.qa-cite {font-size: 0.85em; color: #555;}
@media (max-width: 600px) {.qa-bar {width: 50px;}}
"""

SCROLL_TO_TARGET = (
    "() => { setTimeout(() => { const e = document.querySelector('.qa-doc .qa-target');"
    " if (e) e.scrollIntoView({block: 'center'}); }, 50); }"
)


def _notice(text: str) -> str:
    return f'<div class="qa-notice">{html.escape(text)}</div>'


def render_hit(hit: Hit, best_score: float) -> str:
    p = hit.passage
    share = 100.0 * max(hit.score, 0.0) / best_score if best_score > 0 else 0.0
    flag = " · below threshold" if hit.below_threshold else ""
    return (
        f'<div class="qa-hit" data-source="{html.escape(p.source, quote=True)}">'
        f'<div class="qa-head"><span class="qa-rank">#{hit.rank}</span>'
        f'<span class="qa-bar" title="score {hit.score:.3f}"><span style="width:{share:.0f}%">'
        f'</span></span><span>{hit.score:.3f}{flag}</span>'
        f"<b>{html.escape(p.title)}</b><span>{html.escape(p.source)}</span>"
        f"<span>¶ {p.paragraph}</span></div>"
        f'<div class="qa-text">{highlighted_html(p.text, hit.answer)}</div>'
        f'<div class="qa-cite">{html.escape(citation_text(hit))}</div></div>'
    )


def render_results(result: SearchResult) -> str:
    notices = "".join(_notice(text) for text in result.notices)
    best = max((hit.score for hit in result.hits), default=0.0)
    return notices + "".join(render_hit(hit, best) for hit in result.hits)


def render_document(qa: QA, source: str, paragraph: int) -> str:
    """The whole indexed document, HTML-escaped, with one paragraph highlighted."""
    passages = [i.passage for i in qa.searcher.passages if i.passage.source == source]
    if not passages:
        return _notice(f"{source} is not an indexed document.")
    parts = [f"<h3>{html.escape(passages[0].title)}</h3>"
             f'<div class="qa-cite">{html.escape(source)}</div>']
    for passage in passages:
        target = ' class="qa-target"' if passage.paragraph == paragraph else ""
        parts.append(f'<p id="qa-para-{passage.paragraph}"{target}>'
                     f"<small>¶{passage.paragraph}</small> {html.escape(passage.text)}</p>")
    return '<div class="qa-doc">' + "".join(parts) + "</div>"


def index_status(qa: QA) -> str:
    manifest = qa.searcher.manifest
    age = time.time() - manifest.created
    return (f"**Index** · {len(manifest.files)} documents · {manifest.passage_count} passages · "
            f"model `{manifest.model.get('name')}` · {manifest.dense_index.get('kind')} search · "
            f"built {_age(age)} ago")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


_KEPT_EXPORTS = 400  # every question writes two files; under load the folder must not grow forever


def export_files(result: SearchResult, folder: Path) -> tuple[str, str]:
    """Write the results as Markdown and JSON files for download."""
    stamp = f"{time.time_ns()}"
    markdown = folder / f"qa-results-{stamp}.md"
    markdown.write_text(f"# {result.question}\n\n" + "\n".join(hit_to_markdown(h) for h in
                                                               result.hits), encoding="utf-8")
    as_json = folder / f"qa-results-{stamp}.json"
    as_json.write_text(json.dumps({"question": result.question,
                                   "hits": [hit_to_json(h) for h in result.hits]},
                                  indent=1, ensure_ascii=False), encoding="utf-8")
    _keep_newest(folder, _KEPT_EXPORTS)
    return str(markdown), str(as_json)


def _keep_newest(folder: Path, count: int) -> None:
    exports = sorted(folder.glob("qa-results-*"), key=lambda p: p.stat().st_mtime_ns)
    for old in exports[:-count]:
        old.unlink(missing_ok=True)


def citation_choices(result: SearchResult) -> list[tuple[str, str]]:
    return [(f"#{h.rank} {h.passage.source} ¶{h.passage.paragraph}",
             f"{h.passage.source}\t{h.passage.paragraph}") for h in result.hits]


def build_page(qa: QA) -> gr.Blocks:
    export_folder = Path(tempfile.mkdtemp(prefix="qa-exports-"))

    def ask(question: str, k: float, mode: str, sources: list[str] | None
            ) -> tuple[Any, ...]:
        result = qa.search(question or "", int(k), mode, sources or None)  # type: ignore[arg-type]
        citations = "\n".join(citation_text(h) for h in result.hits)
        files = list(export_files(result, export_folder)) if result.hits else None
        return (render_results(result), citations, gr.update(choices=citation_choices(result),
                                                              value=None), files)

    def show_document(choice: str | None) -> str:
        if not choice:
            return ""
        source, _, paragraph = choice.partition("\t")
        return render_document(qa, source, int(paragraph or 0))

    def rebuild(progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:  # noqa: B008
        def report(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"embedding {done}/{total}")

        summary = qa.index(force=True, progress=report).summary()
        return (index_status(qa) + f"  \nRebuilt: {summary}",
                gr.update(choices=qa.searcher.sources))

    with gr.Blocks(title="qa — ask your documents") as page:
        gr.Markdown("## qa — ask your documents\nPassages that answer, with citations you can "
                    "check by hand.")
        with gr.Row():
            question = gr.Textbox(label="Question", placeholder="Ask a question and press Enter",
                                  scale=4, elem_id="qa-question", max_length=10_000)
            submit = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
        with gr.Row():
            top_k = gr.Slider(1, 20, value=qa.settings.top_k, step=1, label="Results")
            mode = gr.Radio(list(SEARCH_MODES), value=qa.settings.mode, label="Search")
            sources = gr.Dropdown(qa.searcher.sources, multiselect=True, value=[],
                                  label="Search within (all when empty)")
        gr.Examples(EXAMPLES, inputs=question)
        results = gr.HTML(elem_id="qa-results")
        with gr.Accordion("Citations, downloads and sources", open=True):
            citations = gr.Textbox(label="Citations", lines=3, buttons=["copy"],
                                   interactive=False, elem_id="qa-citations")
            downloads = gr.File(label="Download results (Markdown, JSON)", file_count="multiple",
                                interactive=False)
            choice = gr.Radio([], label="Show a result in its document", elem_id="qa-show")
            document = gr.HTML(elem_id="qa-document")
        with gr.Row():
            status = gr.Markdown(index_status(qa), elem_id="qa-status")
            rebuild_button = gr.Button("Rebuild index", scale=0)

        outputs = [results, citations, choice, downloads]
        question.submit(ask, [question, top_k, mode, sources], outputs, api_name="ask")
        submit.click(ask, [question, top_k, mode, sources], outputs, api_visibility="private")
        choice.change(show_document, choice, document, api_visibility="private").then(
            None, js=SCROLL_TO_TARGET)
        rebuild_button.click(rebuild, None, [status, sources], api_visibility="private")
    return page


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860,
           block: bool = True) -> gr.Blocks:
    qa = QA.open(settings)
    page = build_page(qa)
    page.queue(default_concurrency_limit=4)
    page.launch(server_name=host, server_port=port, css=CSS, prevent_thread_lock=not block,
                show_error=False, footer_links=[])
    return page
