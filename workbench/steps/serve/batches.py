"""Records sent to the running image in batches through /predict/batch (held-out data,
corner cases): each batch under the image's own body limit, and an error that says whose
it is: the model's (it raised, or its answer broke the response schema), the records'
(refused by the contract), or the tool's own request (too large)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import request

BATCH = 256  # records per request at most
MODEL_FAILED = "make the model answer them (the error names the cause), or the schema refuse them."
ANSWER_BROKE = (
    "make the model's answers follow the response schema (the image's log names the field)."
)
DATA_REFUSED = "make the held-out data follow the request schema (the evidence names the field)."


def batches(
    records: list[dict[str, Any]], limit: int
) -> Iterator[tuple[int, list[dict[str, Any]], bytes]]:
    """(first index, records, body) of each batch: at most BATCH records, and a body under
    `limit` bytes (serve.max_body_bytes) unless one record alone is larger."""
    chunk: list[dict[str, Any]] = []
    start, size = 0, 2  # "[]"
    for index, record in enumerate(records):
        length = len(json.dumps(record).encode()) + 2  # ", " between records
        if chunk and (len(chunk) >= BATCH or size + length > limit):
            yield start, chunk, json.dumps(chunk).encode()
            start, chunk, size = index, [], 2
        chunk.append(record)
        size += length
    if chunk:
        yield start, chunk, json.dumps(chunk).encode()


def ask_container(url: str, records: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The image's answers, in batches under its body limit; a refused batch is an error
    that names its records and the container's reason."""
    answers: list[dict[str, Any]] = []
    for start, chunk, body in batches(records, limit):
        answer = request(
            "POST",
            f"{url}/predict/batch",
            body=body,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        if answer.status != 200:
            said = answer.body[:300].decode(errors="replace")
            said = f"held-out records {start}-{start + len(chunk) - 1} ({answer.status}: {said})"
            if answer.status == 413:
                what = f"record {start} alone" if len(chunk) == 1 else f"{len(chunk)} records"
                raise WorkbenchError(
                    f"the image refused {said}: {what} {'is' if len(chunk) == 1 else 'are'} "
                    f"{len(body)} bytes, over the {limit} bytes serve.max_body_bytes accepts",
                    fix="raise serve.max_body_bytes in workbench.yaml if such requests are "
                    "real, or leave such records out of the held-out data.",
                )
            if answer.status == 500 and b"broke the response schema" in answer.body:
                raise WorkbenchError(
                    f"the model's answers to {said} broke the response schema", fix=ANSWER_BROKE
                )
            if answer.status == 500:  # records the request schema accepts; the model failed
                raise WorkbenchError(f"the model failed on {said}", fix=MODEL_FAILED)
            if answer.status < 500:
                raise WorkbenchError(f"the image refused {said}", fix=DATA_REFUSED)
            raise WorkbenchError(f"the image did not answer {said}", fix="read .workbench/logs/.")
        answers.extend(json.loads(answer.body))
    return answers
