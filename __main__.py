"""Quickstart: read one ModelArts visualization job and publish every field as a stack output.

Credentials and region come from `modelarts:*` stack config or the HW_*/OS_* environment
variables (see the README). `pulumi destroy` forgets the job; it never deletes it.
"""

import pulumi

from pulumi_modelarts import OUTPUT_FIELDS, VisualizationJob

config = pulumi.Config()


def setting(key: str, value: str) -> pulumi.Input[str]:
    """``value``, read as this stack's setting ``key``, kept secret if it was set with `pulumi config
    set --secret` (``Config.get`` hands it over in plain text, and every output would show it)."""
    return pulumi.Output.secret(value) if pulumi.runtime.is_config_secret(config.full_key(key)) else value


project_id = config.get("projectId")  # "" (its default): modelarts:projectId, or looked up
job = VisualizationJob(
    "visualization-job",
    job_id=setting("jobId", config.require("jobId")),
    project_id=setting("projectId", project_id) if project_id else None,
)

# One stack output per field: what `StackReference.require_output`, `pulumi stack output --json`
# and the Kubernetes operator's `status.outputs` consumers read.
for name in OUTPUT_FIELDS:
    pulumi.export(name, getattr(job, name))

# The same fields as one object. Pulumi leaves top-level outputs whose value is null out of the
# stack; inside an object they stay, so this key set never changes.
pulumi.export(
    "visualization_job",
    pulumi.Output.all(*(getattr(job, name) for name in OUTPUT_FIELDS)).apply(
        lambda values: dict(zip(OUTPUT_FIELDS, values, strict=True))
    ),
)


class DashboardTile(pulumi.ComponentResource):
    """A link tile for a team dashboard, built from the job's UI address and status."""

    def __init__(
        self,
        name: str,
        *,
        title: pulumi.Input[str],
        url: pulumi.Input[str | None],
        healthy: pulumi.Input[bool],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("quickstart:index:DashboardTile", name, None, opts)
        self.spec = pulumi.Output.all(title, url, healthy).apply(
            lambda values: {"title": values[0], "href": values[1], "status": "up" if values[2] else "down"}
        )
        self.register_outputs({"spec": self.spec})


tile = DashboardTile(
    "tensorboard-tile",
    title=pulumi.Output.concat(
        setting("dashboardTitle", config.get("dashboardTitle") or "TensorBoard"), ": ", job.job_name
    ),
    url=job.service_url,
    healthy=job.is_running,
)
pulumi.export("dashboard_tile", tile.spec)
