"""Retrieved and reranked documents into `spans.documents`: `[{"id", "score", "content", "metadata"}]`.

`id` and `content` are strings ("" when unknown), `score` a number or null, `metadata` an object
(`{}` when none; a metadata value that is not JSON is kept under `{"value": ...}`).
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from .canon import loads_maybe, to_float, to_text

Doc = dict[str, Any]


def make(doc_id: Any, score: Any, content: Any, metadata: Any) -> Doc:
    md = loads_maybe(metadata)
    if md is None or md == "":
        md = {}
    elif not isinstance(md, dict):
        md = {"value": md}
    return {
        "id": "" if doc_id is None else to_text(doc_id),
        "score": to_float(score),
        "content": "" if content is None else to_text(content),
        "metadata": md,
    }


def from_list(value: Any) -> list[Doc] | None:
    """`gen_ai.retrieval.documents` (JSON or structured) and Traceloop/LangChain shapes
    (`page_content`, `text`, `{"documents": [...]}`)."""
    v = loads_maybe(value)
    if isinstance(v, dict):
        v = v.get("documents", v.get("docs"))
    if not isinstance(v, list):
        return None
    out: list[Doc] = []
    for d in v:
        if isinstance(d, dict):
            md = d.get("metadata")
            doc_id = d.get("id")
            if doc_id is None and isinstance(md, dict):
                doc_id = md.get("id")
            content = d.get("content", d.get("page_content", d.get("text", d.get("document"))))
            out.append(make(doc_id, d.get("score", d.get("relevance_score")), content, md))
        elif d is not None:
            out.append(make(None, None, d, None))
    return out


def from_openinference(found: dict[int, dict[str, Any]]) -> list[Doc]:
    """`retrieval.documents.<i>.document.{id,score,content,metadata}` (also reranker documents)."""
    return [
        make(
            f.get("document.id"),
            f.get("document.score"),
            f.get("document.content"),
            f.get("document.metadata"),
        )
        for f in (found[i] for i in sorted(found))
    ]


def from_db_query_result(attrs: dict[str, Any]) -> Doc:
    """One Traceloop `db.query.result` event."""
    score = attrs.get(A.TL_DB_QUERY_RESULT_SCORE)
    md = attrs.get(A.TL_DB_QUERY_RESULT_METADATA)
    distance = attrs.get(A.TL_DB_QUERY_RESULT_DISTANCE)
    if score is None and distance is not None:
        md = loads_maybe(md)
        md = dict(md) if isinstance(md, dict) else ({} if md in (None, "") else {"value": md})
        md["distance"] = distance
    return make(
        attrs.get(A.TL_DB_QUERY_RESULT_ID),
        score,
        attrs.get(A.TL_DB_QUERY_RESULT_DOCUMENT),
        md,
    )
