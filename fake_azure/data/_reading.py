"""What a dataset's definition points at, and reading it: ``(datastore, path-or-glob)`` pairs resolved
against the datastores' blobs when the data is read (as Azure's dataprep does, so later uploads count),
and delimited files parsed with pandas for ``to_pandas_dataframe``."""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserErrorException

_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ResolvedFile:
    """One blob a dataset reads: its datastore, its path there, and its path under the pattern's base
    (where ``download`` puts it)."""

    datastore: Any
    path: str
    relative: str


def _segment_regex(segment: str) -> str:
    out, i = [], 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in segment[i + 1:]:
            end = segment.index("]", i + 1)
            body = segment[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``*``/``?``/``[...]`` within a path segment, ``**`` across segments."""
    segments = pattern.split("/")
    parts = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:.*/)?")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(parts))


def resolve_one(datastore: Any, path: str, is_file: bool = False) -> list[ResolvedFile]:
    """The blobs ``(datastore, path)`` names: a file, every file under a folder, or a glob's matches."""
    path = (path or "").lstrip("/")
    segments = path.split("/")
    first_wild = next((i for i, s in enumerate(segments) if _WILDCARD.search(s)), None)
    if first_wild is not None and not is_file:
        base = "/".join(segments[:first_wild])
        regex = glob_regex(path)
        blobs = datastore._list_blobs(base + "/" if base else "")
        return [ResolvedFile(datastore, b["path"], _under(b["path"], base)) for b in blobs
                if regex.fullmatch(b["path"])]
    folder = path.rstrip("/")
    if not folder:  # the whole container
        return [ResolvedFile(datastore, b["path"], b["path"]) for b in datastore._list_blobs("")]
    candidates = datastore._list_blobs(folder)
    exact = [b for b in candidates if b["path"] == folder]
    if exact or is_file:
        return [ResolvedFile(datastore, b["path"], folder.rsplit("/", 1)[-1]) for b in exact]
    return [ResolvedFile(datastore, b["path"], _under(b["path"], folder)) for b in candidates
            if b["path"].startswith(folder + "/")]


def inside(folder: str, relative: str) -> str:
    """``folder/relative``, refused unless it stays inside ``folder`` (a blob name is not trusted as a path)."""
    root = os.path.abspath(folder)
    target = os.path.abspath(os.path.join(root, os.path.normpath(relative)))
    if os.path.isabs(relative) or os.path.commonpath([root, target]) != root or target == root:
        raise UserErrorException("Blob path {!r} would be written outside {!r}.".format(relative, folder))
    return target


def _under(path: str, base: str) -> str:
    return path[len(base) + 1:] if base else path


def resolve(datastores: dict[str, Any], paths: list[dict[str, str]],
            is_file: bool = False) -> tuple[list[ResolvedFile], list[str]]:
    """Every file the definition's paths name, in their order, and the paths that named none."""
    found: list[ResolvedFile] = []
    missing: list[str] = []
    for entry in paths:
        files = resolve_one(datastores[entry["datastoreName"]], entry["path"], is_file)
        if not files:
            missing.append("('{}', '{}')".format(entry["datastoreName"], entry["path"]))
        found.extend(files)
    return found, missing


# --- delimited files ----------------------------------------------------------------------------------

# PromoteHeadersBehavior values
NO_HEADERS, ONLY_FIRST_FILE_HAS_HEADERS, COMBINE_ALL_FILES_HEADERS, ALL_FILES_HAVE_SAME_HEADERS = 0, 1, 2, 3
_ENCODINGS = {"utf8": "utf-8", "iso88591": "iso-8859-1", "latin1": "latin-1", "ascii": "ascii", "utf16": "utf-16",
              "utf32": "utf-32", "utf8bom": "utf-8-sig", "windows1252": "cp1252"}


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise UserErrorException("to_pandas_dataframe needs pandas, which is not installed: pip install pandas") \
            from exc
    return pandas


def read_delimited(files: list[ResolvedFile], options: dict[str, Any]) -> Any:
    """The files' rows as one pandas DataFrame, read with the factory's options."""
    pandas = _pandas()
    separator = options.get("separator", ",")
    header = options.get("header", ALL_FILES_HAVE_SAME_HEADERS)
    infer = options.get("inferColumnTypes", True)
    empty_as_string = options.get("emptyAsString", False)
    encoding = _ENCODINGS.get(options.get("encoding", "utf8"), "utf-8")
    frames, names = [], None
    for index, file in enumerate(files):
        text = file.datastore._read_blob(file.path).decode(encoding)
        has_header = header in (ALL_FILES_HAVE_SAME_HEADERS, COMBINE_ALL_FILES_HEADERS) or (
            header == ONLY_FIRST_FILE_HAS_HEADERS and index == 0)
        frame = _parse(pandas, text, separator, has_header, infer, empty_as_string)
        if header == NO_HEADERS:
            frame.columns = ["Column{}".format(i + 1) for i in range(len(frame.columns))]
        elif header == ONLY_FIRST_FILE_HAS_HEADERS:
            names = names if names is not None else list(frame.columns)
            frame.columns = names[:len(frame.columns)]
        if options.get("includePath"):
            frame.insert(0, "Path", "/" + file.path)
        frames.append(frame)
    if not frames:
        return pandas.DataFrame()
    combined = pandas.concat(frames, ignore_index=True)
    if infer and len(frames) > 1:
        combined = combined.infer_objects()
    return combined


def _parse(pandas: Any, text: str, separator: str, has_header: bool, infer: bool, empty_as_string: bool) -> Any:
    if separator in ("\n", "\r\n"):
        # One column per line (what Azure's profiling notebooks use to read raw request bodies).
        lines = [line.rstrip("\r") for line in text.split("\n")]
        if lines and lines[-1] == "":
            lines.pop()
        columns: list[str | int] = [lines.pop(0)] if has_header and lines else [0]
        frame = pandas.DataFrame({columns[0]: lines})
        return frame
    return pandas.read_csv(io.StringIO(text), sep=separator, header=0 if has_header else None,
                           dtype=None if infer else str, keep_default_na=not empty_as_string,
                           na_values=[""] if not empty_as_string else None, engine="python" if len(separator) > 1
                           else "c")
