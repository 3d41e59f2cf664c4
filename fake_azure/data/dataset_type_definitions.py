"""Mirror of ``azureml.data.dataset_type_definitions``: the enumerations dataset factories take."""
from __future__ import annotations

from enum import Enum


class PromoteHeadersBehavior(Enum):
    """How column headers are read from delimited files."""

    NO_HEADERS = 0
    ONLY_FIRST_FILE_HAS_HEADERS = 1
    COMBINE_ALL_FILES_HEADERS = 2
    ALL_FILES_HAVE_SAME_HEADERS = 3


class SkipLinesBehavior(Enum):
    """How leading rows are skipped."""

    NO_ROWS = 0
    FROM_FIRST_FILE_ONLY = 1
    FROM_ALL_FILES = 2


class FileEncoding(Enum):
    """File encodings of delimited files."""

    UTF8 = 0
    ISO88591 = 1
    LATIN1 = 2
    ASCII = 3
    UTF16 = 4
    UTF32 = 5
    UTF8BOM = 6
    WINDOWS1252 = 7
