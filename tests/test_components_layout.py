"""components/ holds the classes and helpers that register resources; what only decides lives in llmscale/."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pulumi

import components


def component_modules() -> list[ModuleType]:
    """Every module under components/."""
    found = [components]
    for info in pkgutil.walk_packages(components.__path__, prefix="components."):
        found.append(importlib.import_module(info.name))
    return found


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a call's target names (`Role`, `aws.iam.Role`, `register`), or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def registers(function: Callable[..., Any], seen: set[Callable[..., Any]] | None = None) -> bool:
    """Whether calling `function` creates a Pulumi resource: it calls a Resource class, or a function of
    components/ that does. Imports inside the function are followed."""
    seen = seen if seen is not None else set()
    if function in seen:
        return False
    seen.add(function)
    tree = ast.parse(inspect.getsource(function).strip())
    module = inspect.getmodule(function)
    namespace = dict(vars(module)) if module else {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported = importlib.import_module(node.module)
            namespace.update({alias.asname or alias.name: getattr(imported, alias.name) for alias in node.names})
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, namespace)
        if inspect.isclass(target) and issubclass(target, pulumi.Resource):
            return True
        if inspect.isfunction(target) and target.__module__.startswith("components.") and registers(target, seen):
            return True
    return False


def top_level_functions(module: ModuleType) -> list[Callable[..., Any]]:
    return [
        value for value in vars(module).values() if inspect.isfunction(value) and value.__module__ == module.__name__
    ]


def test_every_top_level_function_in_components_registers_a_resource() -> None:
    idle = [
        f"{function.__module__}.{function.__name__}"
        for module in component_modules()
        for function in top_level_functions(module)
        if not registers(function)
    ]
    assert idle == [], "pure functions belong in llmscale/ (the domain module that decides), not in components/"


def test_every_class_in_components_is_a_resource_or_its_data() -> None:
    classes = [
        value
        for module in component_modules()
        for value in vars(module).values()
        if inspect.isclass(value) and value.__module__ == module.__name__
    ]
    assert classes
    resources = [c for c in classes if issubclass(c, pulumi.Resource)]
    others = sorted(c.__qualname__ for c in classes if not issubclass(c, pulumi.Resource))
    assert resources and all(issubclass(c, pulumi.ComponentResource) for c in resources)
    # Plain records a component hands between its own methods, and the error a tier raises.
    assert set(others) <= {"_Bucket", "_Site", "TierArgsError"}, others


def test_the_check_tells_a_registering_function_from_a_pure_one() -> None:
    from components.aws.pod_identity import pod_identity_role
    from llmscale.aws.eks import kubeconfig

    assert registers(pod_identity_role)
    assert not registers(kubeconfig)


def test_every_component_registers_outputs() -> None:
    """`register_outputs({})` tells the engine the component has nothing to show: each has something."""
    for module in component_modules():
        source = inspect.getsource(module)
        assert "register_outputs({})" not in source, module.__name__
