"""``VisualizationJob``: a ModelArts visualization job read into Pulumi state, data-source style.

Every field of the job becomes an ``Output`` usable as stack output or as input of other
resources. Destroying the stack only forgets the job; nothing is ever sent to delete it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic

from .provider import STATE_FIELDS, VisualizationJobProvider


class VisualizationJob(pulumi.dynamic.Resource, module="modelarts", name="VisualizationJob"):
    """An existing ModelArts visualization job (TensorBoard / MindInsight), read by ID."""

    job_id: pulumi.Output[int]
    job_name: pulumi.Output[str]
    job_desc: pulumi.Output[str | None]
    service_url: pulumi.Output[str | None]
    resource_id: pulumi.Output[str | None]
    train_url: pulumi.Output[str | None]
    status: pulumi.Output[int]
    status_name: pulumi.Output[str]
    is_running: pulumi.Output[bool]
    duration: pulumi.Output[int | None]
    create_time: pulumi.Output[int | None]
    created_at: pulumi.Output[str | None]
    job_type: pulumi.Output[str | None]
    flavor_code: pulumi.Output[str | None]
    remaining_duration: pulumi.Output[float | None]
    project_id: pulumi.Output[str]
    region: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        job_id: pulumi.Input[int | str],
        *,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        endpoint: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Read job ``job_id``; ``project_id``, ``region`` and ``endpoint`` override the
        provider-wide ``modelarts:*`` settings for this job only."""
        props: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
        props.update(job_id=job_id, project_id=project_id, region=region, endpoint=endpoint)
        super().__init__(VisualizationJobProvider(), resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> VisualizationJob:
        """Read job ``id`` without managing it: the engine reads it on every preview and up,
        marks it external and never deletes it. ``kwargs`` may name ``project_id``, ``region``
        or ``endpoint``."""
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return VisualizationJob(resource_name, id, opts=merged, **kwargs)
