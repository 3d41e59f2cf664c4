"""How dataset paths and globs pick blobs (fake_azure/data/_reading.py), and that a blob name never writes
outside the download folder, whatever the service answers (the facade does not trust it as a path)."""
from __future__ import annotations

from pathlib import Path

import pytest

from fake_azure.data._reading import resolve_one
from fake_azure.data.azure_storage_datastore import AzureBlobDatastore
from fake_azure.exceptions import UserErrorException

BLOBS = ["animals/dog/year-2018/1.jpg", "animals/dog/year-2018/2.jpg", "animals/dog/year-2019/1.jpg",
         "animals/dog/notes.txt", "animals/cat/year-2018/1.jpg", "animalsX/1.jpg", "top.csv"]


class ListedStore(AzureBlobDatastore):
    """A datastore whose blob listing is a fixed list (what the service would answer)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(None, "workspaceblobstore", "container", "account")
        self.names = names
        self.downloaded: list[str] = []

    def _list_blobs(self, prefix: str) -> list[dict]:
        return [{"path": n, "size": 1, "sha256": "0" * 64} for n in sorted(self.names) if n.startswith(prefix)]

    def _download_blob(self, blob_path: str, target_file: str) -> None:
        self.downloaded.append(target_file)


@pytest.mark.parametrize("pattern, expected", [
    # The SDK's own to_path example: the part before the first wildcard is dropped.
    ("animals/dog/year-*/*.jpg", ["year-2018/1.jpg", "year-2018/2.jpg", "year-2019/1.jpg"]),
    ("animals/**/1.jpg", ["cat/year-2018/1.jpg", "dog/year-2018/1.jpg", "dog/year-2019/1.jpg"]),
    ("animals/dog/year-201[89]/?.jpg", ["year-2018/1.jpg", "year-2018/2.jpg", "year-2019/1.jpg"]),
    ("animals/dog/year-201[!8]/*", ["year-2019/1.jpg"]),
    ("animals/dog", ["notes.txt", "year-2018/1.jpg", "year-2018/2.jpg", "year-2019/1.jpg"]),
    ("/animals/dog/notes.txt", ["notes.txt"]),
    ("animals", ["cat/year-2018/1.jpg", "dog/notes.txt", "dog/year-2018/1.jpg", "dog/year-2018/2.jpg",
                 "dog/year-2019/1.jpg"]),  # not animalsX/
    ("*.csv", ["top.csv"]),
    ("animals/bird", []),
])
def test_paths_and_globs_pick_blobs_relative_to_their_base(pattern, expected):
    assert sorted(f.relative for f in resolve_one(ListedStore(BLOBS), pattern)) == expected


def test_is_file_takes_the_path_literally():
    store = ListedStore(BLOBS + ["odd/[a].txt"])
    assert [f.path for f in resolve_one(store, "odd/[a].txt", is_file=True)] == ["odd/[a].txt"]
    assert resolve_one(store, "animals/dog", is_file=True) == []


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt"])
def test_a_blob_name_never_leaves_the_download_folder(tmp_path: Path, name: str):
    store = ListedStore([name])
    with pytest.raises(UserErrorException, match="outside"):
        store.download(str(tmp_path / "target"), show_progress=False)
    assert store.downloaded == []
