"""Fetching a scene parser on first use, against a local stand-in hub (never the network): the size
said first, the progress, the cache left clean by a cut or interrupted download, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dpst.errors import DownloadFailed
from dpst.segment import hub
from tests.segment.conftest import DEFAULT, SEGFORMER

pytest.importorskip("huggingface_hub")


def files_under(root: Path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_first_use_says_its_size_first_then_its_progress_and_a_second_use_asks_nothing(standin):
    seen: list[hub.Download] = []
    folder = hub.fetch(DEFAULT, seen.append, licence="MIT")
    total = sum(len(d) for d in standin.repos[DEFAULT].files.values())
    assert seen[0].done == 0 and seen[0].total == total and not seen[0].finished
    assert (
        seen[0].line()
        == f"downloading the scene parser {DEFAULT} ({hub.megabytes(total)}, MIT) once into "
        + hub.short(hub.cache_dir())
    )
    assert [d.done for d in seen] == sorted(d.done for d in seen)  # never backwards
    assert seen[-1].finished and not seen[-1].failed and seen[-1].done == total
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "preprocessor_config.json",
        "pytorch_model.bin",
    ]
    assert folder == hub.snapshot(DEFAULT) and folder.is_relative_to(hub.cache_dir())
    # the weights came through the CDN's redirect, the small files straight from the hub
    assert ("GET", f"/blobs/{(folder / 'pytorch_model.bin').resolve().name}") in standin.requests
    asked = len(standin.requests)
    assert hub.fetch(DEFAULT, seen.append) == folder and len(standin.requests) == asked


def test_the_licence_comes_from_the_model_card_when_dpst_does_not_know_it(standin):
    seen: list[hub.Download] = []
    hub.fetch(SEGFORMER, seen.append)
    assert seen[0].licence == "other"


def test_a_download_cut_mid_file_leaves_no_trace_in_the_cache(standin):
    standin.cut["pytorch_model.bin"] = 1000
    seen: list[hub.Download] = []
    with pytest.raises(DownloadFailed, match=f"^the scene parser {DEFAULT} could not be downloaded") as e:
        hub.fetch(DEFAULT, seen.append)
    assert "\n" not in str(e.value)
    assert seen[-1].finished and seen[-1].failed
    assert not hub.repo_folder(DEFAULT).exists()  # no refs, no snapshot, no blobs, no .incomplete
    assert [f for f in files_under(hub.cache_dir()) if not f.startswith(".locks")] == ["CACHEDIR.TAG"]
    assert hub.snapshot(DEFAULT) is None
    del standin.cut["pytorch_model.bin"]  # the network is back: the download starts afresh and works
    assert hub.fetch(DEFAULT) == hub.snapshot(DEFAULT)


def test_a_failed_download_keeps_what_the_cache_held_before(standin):
    """A repo folder that already held something (an earlier revision, a ref) is put back as it was."""
    old = hub.repo_folder(DEFAULT)
    (old / "refs").mkdir(parents=True)
    (old / "refs" / "main").write_text("0" * 40)
    (old / "blobs").mkdir()
    (old / "blobs" / "earlier").write_bytes(b"an earlier file")
    (old / "blobs" / "stale.incomplete").write_bytes(b"what a killed process left")
    standin.cut["pytorch_model.bin"] = 10
    with pytest.raises(DownloadFailed):
        hub.fetch(DEFAULT)
    assert (
        files_under(old) == ["blobs/earlier", "refs/main"] and (old / "refs" / "main").read_text() == "0" * 40
    )


def test_ctrl_c_during_a_download_leaves_the_cache_as_it_was(standin):
    def stop(d: hub.Download) -> None:
        if d.done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hub.fetch(DEFAULT, stop)
    assert not hub.repo_folder(DEFAULT).exists()


def test_offline_never_asks_the_hub(standin):
    with pytest.raises(DownloadFailed, match=r"is not in the cache .* and dpst is offline \(--offline\)"):
        hub.fetch(DEFAULT, offline=hub.offline_reason(True))
    assert standin.requests == []


def test_a_model_the_hub_does_not_have_fails_in_one_line(standin):
    with pytest.raises(DownloadFailed, match=r"could not be downloaded \(no such public model on the hub\)"):
        hub.fetch("nobody/nothing")
    with pytest.raises(DownloadFailed, match="neither a folder nor a Hugging Face model id"):
        hub.fetch("/no/such/folder")
    assert not (hub.cache_dir() / "models--nobody--nothing").exists()


def test_safetensors_are_preferred_and_nothing_else_is_fetched(standin, tiny_parsers):
    repo = standin.add("someone/both", tiny_parsers[SEGFORMER])  # config, preprocessing, model.safetensors
    repo.files |= {"pytorch_model.bin": b"the same weights again", "README.md": b"# a card"}
    folder = hub.fetch("someone/both")
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ]
    asked = [path for method, path in standin.requests if method == "GET"]
    assert not any(p.endswith(("README.md", "pytorch_model.bin")) for p in asked)


def test_the_cache_lists_each_checkpoint_its_size_and_whether_it_is_complete(standin):
    hub.fetch(DEFAULT)
    (hub.repo_folder("someone/partial") / "blobs").mkdir(parents=True)
    found = {c.name: c for c in hub.cached()}
    repo = standin.repos[DEFAULT]
    assert found[DEFAULT].complete and found[DEFAULT].size == sum(map(len, repo.files.values())) + len(
        repo.sha
    )
    assert found[DEFAULT].config["architectures"] == ["UperNetForSemanticSegmentation"]
    assert not found["someone/partial"].complete


def test_offline_reason_reads_the_flag_and_the_environment(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert hub.offline_reason() == "" and hub.offline_reason(True) == "--offline"
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")
    assert hub.offline_reason() == "TRANSFORMERS_OFFLINE=1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    assert hub.offline_reason() == ""


def test_the_cache_is_where_huggingface_hub_puts_it(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub.cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub.cache_dir() == tmp_path / "elsewhere"
    assert hub.repo_folder("a/b") == tmp_path / "elsewhere" / "models--a--b"


def test_sizes_and_paths_in_words():
    assert hub.megabytes(241_000_000) == "241 MB" and hub.megabytes(150_000) == "0.1 MB"
    assert hub.short(Path.home() / ".cache" / "x") == os.path.join("~", ".cache", "x")
    assert hub.is_repo_id("openmmlab/upernet-convnext-tiny") and not hub.is_repo_id("/abs/path")
