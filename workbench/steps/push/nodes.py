"""What a swarm's nodes can take, read before a deploy changes anything: a port published
in host mode binds once per node, and GPU tasks need nodes advertising GPUs."""

from __future__ import annotations

from typing import Any

from workbench.kernel.errors import WorkbenchError

GPU_RESOURCE = "NVIDIA-GPU"  # the generic resource `docker service create --generic-resource` names


def refuse_unpublishable(client: Any, port: int | None, replicas: int) -> None:
    """A port published in host mode binds once per node: more replicas than ready nodes
    would wait for ever for a node to put the rest on. Refused before anything changes."""
    nodes = [
        n
        for n in client.nodes.list()
        if n.attrs.get("Status", {}).get("State") == "ready"
        and n.attrs.get("Spec", {}).get("Availability") == "active"
    ]
    if replicas > len(nodes):
        raise WorkbenchError(
            f"port {port} is published in host mode, once per node, and this swarm has "
            f"{len(nodes)} ready node{'s' if len(nodes) != 1 else ''}: {replicas} replicas "
            "would never all start.",
            fix=f"deploy with `--replicas {max(len(nodes), 1)}`, add nodes to the swarm, or "
            "leave out --publish (the service is then reached on its network).",
        )


def advertised_gpus(node: dict[str, Any]) -> int:
    """The NVIDIA-GPU generic resources a node advertises (each named GPU counts one)."""
    found = (node.get("Description") or {}).get("Resources", {}).get("GenericResources") or []
    named = [r["NamedResourceSpec"] for r in found if "NamedResourceSpec" in r]
    discrete = [r["DiscreteResourceSpec"] for r in found if "DiscreteResourceSpec" in r]
    return sum(1 for r in named if r.get("Kind") == GPU_RESOURCE) + sum(
        int(r.get("Value") or 0) for r in discrete if r.get("Kind") == GPU_RESOURCE
    )


def refuse_without_gpus(client: Any, gpus: int) -> None:
    """A task reserving GPUs waits for ever where no node advertises them: refused before
    anything changes, saying what the nodes advertise."""
    most = max((advertised_gpus(n.attrs) for n in client.nodes.list()), default=0)
    if most < gpus:
        raise WorkbenchError(
            f"serve.gpu asks for {gpus} GPU(s) per replica and no node of this swarm "
            f"advertises that many {GPU_RESOURCE} generic resources (the most: {most}); "
            "nothing was deployed.",
            fix=f"advertise each node's GPUs (dockerd `--node-generic-resource "
            f"{GPU_RESOURCE}=GPU-<uuid>`, with the nvidia runtime as the default runtime), "
            "or set serve.gpu to 0 for a CPU image.",
        )
