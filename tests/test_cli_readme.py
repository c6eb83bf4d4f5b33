"""The command line entry point and the README's promises that code can check."""

from __future__ import annotations

import subprocess
import sys

from core.cli.config import markdown_table
from tests.conftest import REPO


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for line in markdown_table().splitlines()[2:]:
        variable = line.split("`")[1]
        assert variable in readme, f"{variable} is missing from README.md's configuration table"


def test_terminal_chat_streams_and_handles_reset_and_exit(tiny_model_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core", "chat", "--model", str(tiny_model_dir), "--temperature", "0", "--max-new-tokens", "8"],
        input="hello 你好\n/reset\nagain\n/exit\nnever sent\n",
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"LIANDAN_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "tiny-llama ready" in result.stdout
    assert result.stdout.count("model> ") == 2
    assert "(history cleared)" in result.stdout


def test_cli_reports_a_bad_model_path_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core", "chat", "--model", str(tmp_path / "missing")],
        input="", capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"LIANDAN_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
