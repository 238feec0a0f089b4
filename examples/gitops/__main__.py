"""GitOps: let the Pulumi Kubernetes Operator (v2) deploy the modelarts-quickstart stack from git.

Creates, in one namespace:

* a ``Secret`` holding the ModelArts credentials (and the Pulumi backend credential), taken from
  secret stack config, so they live encrypted in this stack and only in the Secret in the cluster;
* a ``pulumi.com/v1`` ``Stack`` that checks out the quickstart from ``projectRepo``/``branch``,
  refreshes and updates it every ``resyncFrequencySeconds``, and passes the credentials to the
  workspace pod through ``spec.envRefs`` entries of ``type: Secret``.

The quickstart's outputs then appear in the Stack's ``status.outputs`` (see the README). The job
is never touched: the quickstart only reads it, and ``destroyOnFinalize`` is off so deleting the
Stack object leaves the quickstart's state alone.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

QUICKSTART_PROJECT = "modelarts-quickstart"

config = pulumi.Config()
namespace = config.get("namespace") or "default"
stack_resource_name = config.get("stackResourceName") or QUICKSTART_PROJECT
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
if backend:
    # A DIY backend (s3://, file://, ...) encrypts stack secrets with a passphrase.
    if not config.get("configPassphrase"):
        raise pulumi.RunError(
            "configPassphrase is required with a DIY backend: "
            "pulumi config set --secret configPassphrase <passphrase>"
        )
    secret_data["PULUMI_CONFIG_PASSPHRASE"] = config.require_secret("configPassphrase")
else:
    if not config.get("pulumiAccessToken"):
        raise pulumi.RunError(
            "pulumiAccessToken is required without a backend (Pulumi Cloud): "
            "pulumi config set --secret pulumiAccessToken <token>, or set backend"
        )
    secret_data["PULUMI_ACCESS_TOKEN"] = config.require_secret("pulumiAccessToken")

labels = {
    "app.kubernetes.io/name": stack_resource_name,
    "app.kubernetes.io/part-of": "modelarts-visualization",
}

credentials = k8s.core.v1.Secret(
    "modelarts-credentials",
    metadata=k8s.meta.v1.ObjectMetaArgs(
        name=f"{stack_resource_name}-credentials", namespace=namespace, labels=labels
    ),
    type="Opaque",
    string_data=secret_data,
)


def from_secret(key: str) -> dict[str, Any]:
    """An envRefs entry that reads one key of the credentials Secret (same namespace)."""
    return {"type": "Secret", "secret": {"name": credentials.metadata.name, "key": key}}


env_refs: dict[str, Any] = {
    "HW_REGION_NAME": {"type": "Literal", "literal": {"value": region}},
    **{key: from_secret(key) for key in secret_data},
}

spec: dict[str, Any] = {
    "stack": config.get("stack") or "dev",
    "projectRepo": config.require("projectRepo"),
    "branch": config.get("branch") or "main",
    "repoDir": config.get("repoDir") or ".",
    "serviceAccountName": config.get("serviceAccountName") or "pulumi",
    # Re-read the job before every update, so drift (a stopped job, a new URL) reaches the outputs.
    "refresh": True,
    "resyncFrequencySeconds": config.get_int("resyncFrequencySeconds") or 300,
    # Deleting the Stack object must not run `pulumi destroy`; the job is only read anyway.
    "destroyOnFinalize": False,
    "config": {"jobId": config.require("jobId")},
    "envRefs": env_refs,
}
if backend:
    spec["backend"] = backend

stack = k8s.apiextensions.CustomResource(
    "modelarts-quickstart-stack",
    api_version="pulumi.com/v1",
    kind="Stack",
    metadata=k8s.meta.v1.ObjectMetaArgs(name=stack_resource_name, namespace=namespace, labels=labels),
    spec=spec,
)

# The name is set explicitly above; going through the URN makes the export wait for the Stack.
stack_name = stack.urn.apply(lambda _urn: stack_resource_name)

pulumi.export("namespace", namespace)
pulumi.export("secret_name", credentials.metadata.name)
pulumi.export("stack_resource_name", stack_name)
pulumi.export(
    "read_service_url",
    pulumi.Output.concat(
        "kubectl get stack ", stack_name, " -n ", namespace, " -o jsonpath='{.status.outputs.service_url}'"
    ),
)
