"""The pieces a scan is made of, on real files: the walk, the first-bytes check, the header
reader and the folder layout."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.scanning.headers import MAX_HEADER_READ, MAX_VALUE_BYTES, read_facts
from domain.scanning.layout import type_of_path
from domain.scanning.walk import FoundFile, WalkIssue, walk
from tests.scan_trees import gguf, safetensors, write


def paths(found: list[FoundFile | WalkIssue]) -> list[str]:
    return [item.path for item in found if isinstance(item, FoundFile)]


@pytest.mark.timeout(10)  # opening the FIFO would block for ever
def test_the_walk_passes_over_fifos_hidden_folders_and_other_files(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.safetensors")
    write(tmp_path / ".trash" / "old.safetensors", safetensors())
    write(tmp_path / "readme.txt", b"hello")
    kept = write(tmp_path / "a" / "B.SafeTensors", safetensors())
    assert paths(list(walk([tmp_path]))) == [str(kept)]


def test_two_links_to_one_folder_walk_it_once_and_a_loop_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "real" / "m.gguf", gguf())
    (tmp_path / "link1").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "link2").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "real" / "up").symlink_to(tmp_path, target_is_directory=True)
    found = list(walk([tmp_path]))
    assert len(paths(found)) == 1
    assert [item.kind for item in found if isinstance(item, WalkIssue)] == ["LOOP"]


def test_a_missing_root_is_an_issue_not_an_error(tmp_path: Path) -> None:
    (issue,) = list(walk([tmp_path / "gone"]))
    assert isinstance(issue, WalkIssue) and issue.kind == "MISSING_FOLDER"


def test_a_declared_200_mb_header_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with path.open("wb") as file:
        file.write(struct.pack("<Q", 60_000_000) + b"{")
        file.truncate(300_000_000)  # sparse: a real read would take a while and 60 MB
    facts = read_facts(str(path), path.stat().st_size)
    assert facts.format == "safetensors" and facts.metadata is None
    assert facts.problem is not None and f"{MAX_HEADER_READ:,}" in facts.problem


def test_a_value_too_large_to_keep_is_named_not_kept(tmp_path: Path) -> None:
    big = "x" * (MAX_VALUE_BYTES + 1)
    path = write(tmp_path / "m.safetensors", safetensors({"ss_dataset_dirs": big, "k": "v"}))
    facts = read_facts(str(path), path.stat().st_size)
    assert facts.metadata == {"k": "v"} and facts.omitted == ("ss_dataset_dirs",)


def gguf_with_tokens(count: int) -> bytes:
    """GGUF v3 with general.architecture and a `count`-token string array after it."""

    def text(value: bytes) -> bytes:
        return struct.pack("<Q", len(value)) + value

    body = text(b"general.architecture") + struct.pack("<I", 8) + text(b"qwen2")
    body += text(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, count)
    body += b"".join(text(b"tok%d" % n) for n in range(count))
    body += text(b"general.name") + struct.pack("<I", 8) + text(b"after the array")
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 3) + body


def test_a_gguf_tokenizer_array_is_skipped_to_its_length(tmp_path: Path) -> None:
    path = write(tmp_path / "q.gguf", gguf_with_tokens(100_000))
    facts = read_facts(str(path), path.stat().st_size)
    assert facts.problem is None and facts.base_model == "qwen2"
    assert facts.metadata == {
        "general.architecture": "qwen2",
        "tokenizer.ggml.tokens": {"arrayLength": 100_000},
        "general.name": "after the array",
    }


def test_a_truncated_gguf_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.gguf", gguf_with_tokens(10)[:-7])
    facts = read_facts(str(path), path.stat().st_size)
    assert facts.format == "gguf" and facts.problem is not None and facts.metadata is None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["m.safetensors", "m.gguf", "m.ckpt", "m.bin"]),
    prefix=st.sampled_from([b"", b"GGUF\x03\x00\x00\x00", struct.pack("<Q", 40) + b"{"]),
    data=st.binary(max_size=400),
)
def test_any_bytes_give_facts_never_an_exception(
    tmp_path: Path, name: str, prefix: bytes, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(prefix + data)
    facts = read_facts(str(path), path.stat().st_size)
    assert facts.problem is None or isinstance(facts.problem, str)
    if facts.metadata is not None:
        assert all(len(str(v)) <= MAX_VALUE_BYTES for v in facts.metadata.values())


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/ComfyUI/models/loras/sdxl/people/a.safetensors", "lora"),
        ("/sd/models/Stable-diffusion/b.ckpt", "checkpoint"),
        ("/x/models/diffusion_models/flux.gguf", "unet"),
        ("/x/LoRA/vae/c.pt", "vae"),  # the nearest folder wins
        ("/x/downloads/d.safetensors", None),
    ],
)
def test_the_folder_a_file_sits_in_names_its_type(path: str, kind: str | None) -> None:
    assert type_of_path(path) == kind
