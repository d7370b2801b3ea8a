"""The user vLLM pods run as: a high UID with no passwd entry in the image, and the environment that lets
vLLM's libraries (getpass, torch, Triton, vLLM's own caches) work without one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from llmscale.config.loader import load_stack
from llmscale.k8s.replica import HOME, MODEL_MOUNT, RUN_AS
from llmscale.k8s.workload import deployment_manifest

STACKS = ("multi-gpu", "enterprise", "onprem")


def vllm_pods(stack: str) -> list[dict[str, Any]]:
    config = load_stack(stack).config
    return [deployment_manifest(config, profile)["spec"]["template"]["spec"] for profile in config.models]


def environment(pod: dict[str, Any]) -> dict[str, str]:
    [container] = [c for c in pod["containers"] if c["name"] == "vllm"]
    return {item["name"]: item["value"] for item in container["env"] if "value" in item}


@pytest.mark.parametrize("stack", STACKS)
def test_vllm_runs_as_a_high_uid_and_group(stack: str) -> None:
    for pod in vllm_pods(stack):
        context = pod["securityContext"]
        assert context["runAsUser"] >= 10000
        assert context["runAsGroup"] >= 10000
        assert context["fsGroup"] >= 10000
        assert context["runAsNonRoot"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_user_and_home_stand_in_for_a_passwd_entry(stack: str) -> None:
    for pod in vllm_pods(stack):
        env = environment(pod)
        assert env["HOME"] == HOME and env["USER"] == env["LOGNAME"] == "vllm"
        [container] = [c for c in pod["containers"] if c["name"] == "vllm"]
        # HOME is a writable volume: the root filesystem is read-only.
        assert HOME in {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}


def test_the_host_path_cache_is_handed_to_the_same_uid_recursively() -> None:
    for pod in vllm_pods("onprem"):  # the on-prem example caches weights on a hostPath
        [init] = pod["initContainers"]
        assert init["command"] == ["chown", "-R", f"{RUN_AS}:{RUN_AS}", MODEL_MOUNT]
        assert pod["securityContext"]["runAsUser"] == RUN_AS


# What the libraries do, run by this Python's own standard library: a process whose UID has no passwd entry
# (pwd.getpwuid raises, as in the image), with and without the pod's environment.
PROBE = """
import getpass, json, os, pwd

def missing(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")

pwd.getpwuid = missing
result = {"home": os.path.expanduser("~/.triton/cache")}
try:
    result["user"] = getpass.getuser()
except (KeyError, OSError) as error:
    result["error"] = type(error).__name__
print(json.dumps(result))
"""


def probe(env: dict[str, str]) -> dict[str, str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        [sys.executable, "-I", "-c", PROBE], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_getpass_and_home_work_without_a_passwd_entry_with_the_pod_environment() -> None:
    [pod, *_] = vllm_pods("multi-gpu")
    env = {key: value for key, value in environment(pod).items() if key in ("HOME", "USER", "LOGNAME")}
    assert probe(env) == {"user": "vllm", "home": f"{HOME}/.triton/cache"}


def test_without_them_getpass_fails_and_home_is_not_expanded() -> None:
    """The failure the environment prevents (torch's quack cache and vLLM's CuTe cache call getuser())."""
    result = probe({})
    # KeyError up to Python 3.12; 3.13's getpass turns it into OSError.
    assert result["error"] in ("KeyError", "OSError")
    assert result["home"] == "~/.triton/cache"
    assert "user" not in result
