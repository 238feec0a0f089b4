"""Consume the quickstart's visualization-job outputs from another stack and hand them to Kubernetes.

The quickstart stack publishes one output per job field (``service_url``, ``job_name``, ...). This
stack reads them through a ``StackReference`` and creates, in one namespace:

* a ``ConfigMap`` with the job's endpoint data, ready for ``envFrom`` in a dashboard or proxy pod;
* an ``ExternalName`` ``Service`` whose DNS name resolves to the host of ``service_url``, so that
  in-cluster clients and ingress rules can address the TensorBoard / MindInsight UI by a stable
  service name.

It needs neither pulumi-modelarts nor ModelArts credentials: only read access to the quickstart
stack's state.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
namespace = config.get("namespace") or "default"
service_name = config.get("serviceName") or "tensorboard"

quickstart = pulumi.StackReference(config.get("quickstartStack") or "organization/modelarts-quickstart/dev")

# require_output fails the update with the missing name instead of silently writing "None" into
# the cluster. Outputs whose value is null are absent from a stack, so besides service_url, which
# this consumer exists for, only fields that every job has are required here.
service_url = quickstart.require_output("service_url")
job_id = quickstart.require_output("job_id")
job_name = quickstart.require_output("job_name")
status_name = quickstart.require_output("status_name")
is_running = quickstart.require_output("is_running")


def as_text(value: Any) -> str:
    """ConfigMap values are strings. Numbers cross a StackReference as JSON numbers, which the
    Python SDK hands over as floats (197.0), so whole numbers are written without the '.0'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def host_of(url: Any) -> str:
    """The host name of the job's UI URL, e.g. ``console.otc.t-systems.com``."""
    host = urlsplit(str(url)).hostname if url else None
    if not host:
        raise ValueError(f"the quickstart's service_url has no host name: {url!r}")
    return host


service_host = service_url.apply(host_of)
labels = {
    "app.kubernetes.io/name": service_name,
    "app.kubernetes.io/part-of": "modelarts-visualization",
    "app.kubernetes.io/managed-by": "pulumi",
}

endpoint = k8s.core.v1.ConfigMap(
    "visualization-job-endpoint",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{service_name}-endpoint", namespace=namespace, labels=labels),
    data={
        "SERVICE_URL": service_url.apply(as_text),
        "SERVICE_HOST": service_host,
        "JOB_ID": job_id.apply(as_text),
        "JOB_NAME": job_name.apply(as_text),
        "STATUS_NAME": status_name.apply(as_text),
        "IS_RUNNING": is_running.apply(as_text),
    },
)

# An ExternalName Service is a DNS CNAME: `<serviceName>.<namespace>.svc` resolves to the UI host.
# It has no selector and no ports to manage; HTTP routing (path, TLS) stays with the ingress.
ui_service = k8s.core.v1.Service(
    "visualization-job-ui",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        name=service_name,
        namespace=namespace,
        labels=labels,
        annotations={"modelarts.otc/service-url": service_url.apply(as_text)},
    ),
    spec=k8s.core.v1.ServiceSpecArgs(type="ExternalName", external_name=service_host),
)

pulumi.export("config_map_name", endpoint.metadata.name)
pulumi.export("service_name", ui_service.metadata.name)
pulumi.export("external_name", service_host)
pulumi.export("in_cluster_dns", pulumi.Output.concat(service_name, ".", namespace, ".svc.cluster.local"))
pulumi.export("job_is_running", is_running)
