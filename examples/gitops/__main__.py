"""GitOps: let the Pulumi Kubernetes Operator (v2) deploy the modelarts-quickstart stack from git.

Creates, in one namespace:

* a ``ServiceAccount`` for the stack's workspace pod, bound cluster-wide to
  ``system:auth-delegator`` (the operator requires it; its Helm chart creates none);
* a ``Secret`` holding the ModelArts credentials and the backend credential of the deployed
  stack, taken from secret stack config, so they live encrypted in this stack and only in the
  Secret in the cluster;
* a ``pulumi.com/v1`` ``Stack`` that checks out the quickstart from ``projectRepo``/``branch``
  and refreshes and updates it every ``resyncFrequencySeconds``, also when no new commit arrived
  (``continueResyncOnCommitMatch``), passing the credentials to the workspace pod through
  ``spec.envRefs`` entries of ``type: Secret``.

The quickstart's outputs then appear in the Stack's ``status.outputs`` (see the README). The job
is never touched: the quickstart only reads it, and ``destroyOnFinalize`` is off so deleting the
Stack object leaves the quickstart's state alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

QUICKSTART_PROJECT = "modelarts-quickstart"

config = pulumi.Config()
namespace = config.get("namespace") or "default"
name = config.get("stackResourceName") or QUICKSTART_PROJECT
backend = config.get("backend") or ""
region = config.get("region") or "eu-de"
project_id = config.get("projectId") or ""

# Secret config: Output[str] values that stay secret wherever they flow.
secret_data: dict[str, pulumi.Input[str]] = {
    "HW_ACCESS_KEY": config.require_secret("accessKey"),
    "HW_SECRET_KEY": config.require_secret("secretKey"),
}
if project_id:
    secret_data["HW_PROJECT_ID"] = project_id
# The deployed stack's backend credential: an access token for Pulumi Cloud (no backend, or the
# https:// URL of a self-hosted one, as `pulumi login` takes it), else the passphrase of a DIY
# backend (s3://, file://, ...).
cloud = not backend or urlsplit(backend).scheme in ("https", "http")
backend_variable = "PULUMI_ACCESS_TOKEN" if cloud else "PULUMI_CONFIG_PASSPHRASE"
secret_data[backend_variable] = config.require_secret("backendCredential")

labels = {
    "app.kubernetes.io/name": name,
    "app.kubernetes.io/part-of": "modelarts-visualization",
}
metadata = k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels)

workspace_account = k8s.core.v1.ServiceAccount("workspace", metadata=metadata)
auth_delegator = k8s.rbac.v1.ClusterRoleBinding(
    "workspace-auth-delegator",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{namespace}:{name}:system:auth-delegator", labels=labels),
    role_ref=k8s.rbac.v1.RoleRefArgs(
        api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="system:auth-delegator"
    ),
    subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=name, namespace=namespace)],
)

credentials = k8s.core.v1.Secret(
    "modelarts-credentials",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-credentials", namespace=namespace, labels=labels),
    type="Opaque",
    string_data=secret_data,
)


def from_secret(key: str) -> dict[str, Any]:
    """An envRefs entry that reads one key of the credentials Secret (same namespace)."""
    return {"type": "Secret", "secret": {"name": credentials.metadata.name, "key": key}}


spec: dict[str, Any] = {
    "stack": config.get("stack") or "dev",
    "projectRepo": config.require("projectRepo"),
    "branch": config.get("branch") or "main",
    "repoDir": config.get("repoDir") or ".",
    "serviceAccountName": workspace_account.metadata.name,
    # Refresh (one GET per job), then update, so a job's new status or URL reaches the outputs ...
    "refresh": True,
    # ... every resyncFrequencySeconds, not only when a new commit arrives.
    "continueResyncOnCommitMatch": True,
    "resyncFrequencySeconds": config.get_int("resyncFrequencySeconds", 300),
    # Deleting the Stack object must not run `pulumi destroy`; the job is only read anyway.
    "destroyOnFinalize": False,
    # A string stays a string: a bare number would be JSON config, which needs Pulumi >= 3.202
    # in the workspace image.
    "config": {"jobId": config.require("jobId")},
    "envRefs": {
        "HW_REGION_NAME": {"type": "Literal", "literal": {"value": region}},
        **{key: from_secret(key) for key in secret_data},
    },
}
if backend:
    spec["backend"] = backend

stack = k8s.apiextensions.CustomResource(
    "modelarts-quickstart-stack",
    api_version="pulumi.com/v1",
    kind="Stack",
    metadata=metadata,
    spec=spec,
    opts=pulumi.ResourceOptions(depends_on=[auth_delegator]),
)

# The name is set explicitly above; going through the URN makes the export wait for the Stack.
stack_name = stack.urn.apply(lambda _urn: name)

pulumi.export("namespace", namespace)
pulumi.export("secret_name", credentials.metadata.name)
pulumi.export("service_account_name", workspace_account.metadata.name)
pulumi.export("stack_resource_name", stack_name)
pulumi.export(
    "read_service_url",
    pulumi.Output.concat(
        "kubectl get stack ", stack_name, " -n ", namespace, " -o jsonpath='{.status.outputs.service_url}'"
    ),
)
